/// Decides how many connections an upload runs, by measuring its goodput: a hill climb.
///
/// On a lossy path each TCP connection is held to what its congestion control makes of the loss
/// (about 1.3 Mbit/s for cubic at 1% and 100 ms), so the total grows with the number of
/// connections until the path is full; on a clean path a few already fill it, and more only cost
/// memory and CPU. So the tuner measures the goodput at the current count, doubles the count
/// (up to `maximum`), measures again after the new connections have ramped up, keeps the
/// doubling while it pays (`gain`), and otherwise goes back to the count before it; after a
/// while there it measures again and tries again, since a lossy path's goodput is noisy.
/// A doubling that paid nearly in full (`steepGain`) says the path is far from full, so the
/// next step quadruples: every step costs a few seconds, and on a lossy path the parts that
/// start late finish late.
///
/// Pure: it is fed one goodput sample per interval (bytes the server's TCP acknowledged, over
/// every connection) and answers with the count to run.
public struct ConnectionTuner: Sendable, Hashable {
  /// What to do after a sample.
  public enum Decision: Sendable, Hashable {
    /// Keep the connections as they are.
    case hold
    /// Open connections up to this count.
    case grow(to: Int)
    /// Close connections down to this count (each after the part it is sending).
    case shrink(to: Int)
  }

  /// The count and the goodput measured at it.
  public struct Measurement: Sendable, Hashable {
    public var count: Int
    public var bytesPerSecond: Double

    public init(count: Int, bytesPerSecond: Double) {
      self.count = count
      self.bytesPerSecond = bytesPerSecond
    }
  }

  private enum Phase: Sendable, Hashable {
    /// New connections ramping up: this many samples are not counted.
    case warmingUp(Int)
    /// Samples at the current count so far.
    case measuring([Double])
    /// Back at the count that paid after a doubling that did not: this many samples before
    /// measuring it afresh and probing again (a lossy path's goodput is noisy, and a first
    /// measurement may still hold the connections' slow start).
    case holding(Int)
    /// At the maximum: nothing left to probe.
    case settled
  }

  /// The connections to run now.
  public private(set) var count: Int
  /// The most connections.
  public let maximum: Int
  /// The last count that paid, and its goodput.
  public private(set) var baseline: Measurement?
  private var phase: Phase
  private let warmUpSamples: Int
  private let measuredSamples: Int
  private let holdSamples: Int
  private let gain: Double
  private let steepGain: Double
  /// The last measured step paid at least `steepGain`.
  private var steep = false

  /// A tuner starting at `start` connections, growing to at most `maximum`.
  ///
  /// - Parameters:
  ///   - firstWarmUpSamples: samples skipped at the start (the connections' slow start, which
  ///     on a lossy path carries more than they will once loss has cut their windows).
  ///   - warmUpSamples: samples skipped after every change.
  ///   - measuredSamples: samples averaged into one measurement.
  ///   - holdSamples: samples to stay at a count after a doubling that did not pay, before
  ///     measuring again and probing again.
  ///   - gain: the ratio of goodput a doubling must bring to be kept; 1.25 keeps a doubling that
  ///     a lossy path rewards (about 2x) and drops one that a full path does not (about 1x).
  ///   - steepGain: the ratio of goodput after which the next step quadruples the count.
  public init(
    start: Int, maximum: Int, firstWarmUpSamples: Int = 3, warmUpSamples: Int = 1, measuredSamples: Int = 2,
    holdSamples: Int = 10, gain: Double = 1.25, steepGain: Double = 1.75
  ) {
    precondition(start >= 1 && maximum >= start && measuredSamples >= 1 && gain > 1 && steepGain >= gain)
    count = start
    self.maximum = maximum
    self.warmUpSamples = warmUpSamples
    self.measuredSamples = measuredSamples
    self.holdSamples = holdSamples
    self.gain = gain
    self.steepGain = steepGain
    phase = start == maximum ? .settled : .warmingUp(firstWarmUpSamples)
  }

  /// Whether the tuner has nothing left to try: it runs the maximum.
  public var isSettled: Bool { phase == .settled }

  /// The connections were made anew (after a lost link): the next samples come from new
  /// connections ramping up, so warm up again before measuring.
  public mutating func reconnected() {
    switch phase {
    case .settled: break
    case .warmingUp(let left): phase = .warmingUp(max(left, warmUpSamples))
    default: phase = .warmingUp(warmUpSamples)
    }
  }

  /// Records the goodput of the last interval. A sample of nothing (the link dark, the server
  /// away, an attempt between connections) says nothing about the count, and is skipped.
  public mutating func record(bytesPerSecond rate: Double) -> Decision {
    guard rate > 0 else { return .hold }
    switch phase {
    case .settled:
      return .hold
    case .holding(let left):
      if left > 1 {
        phase = .holding(left - 1)
      } else {
        // Measure the current count afresh: that is the baseline the next doubling must beat.
        baseline = nil
        phase = .measuring([])
      }
      return .hold
    case .warmingUp(let left):
      phase = left > 1 ? .warmingUp(left - 1) : .measuring([])
      return .hold
    case .measuring(var samples):
      samples.append(rate)
      guard samples.count >= measuredSamples else {
        phase = .measuring(samples)
        return .hold
      }
      return decide(Measurement(count: count, bytesPerSecond: samples.reduce(0, +) / Double(samples.count)))
    }
  }

  private mutating func decide(_ measured: Measurement) -> Decision {
    if let baseline, measured.bytesPerSecond < baseline.bytesPerSecond * gain {
      // The doubling did not pay: back to the count that did, for a while.
      phase = .holding(holdSamples)
      count = baseline.count
      steep = false
      return .shrink(to: baseline.count)
    }
    if let baseline {
      // A step of 4x is steep if it paid as two steep doublings would.
      var (doubled, needed) = (baseline.count, baseline.bytesPerSecond)
      while doubled < measured.count { (doubled, needed) = (doubled * 2, needed * steepGain) }
      steep = measured.bytesPerSecond >= needed
    }
    baseline = measured
    guard count < maximum else {
      phase = .settled
      return .hold
    }
    count = min(maximum, count * (steep ? 4 : 2))
    phase = .warmingUp(warmUpSamples)
    return .grow(to: count)
  }
}
