import Testing
import UploadCore

@Suite struct ConnectionTunerTests {
  /// Feeds `rate(count)` until the tuner settles; returns the decisions that changed the count.
  private func run(_ tuner: inout ConnectionTuner, rate: (Int) -> Double, samples: Int = 100) -> [ConnectionTuner.Decision] {
    var changes: [ConnectionTuner.Decision] = []
    for _ in 0..<samples where !tuner.isSettled {
      let decision = tuner.record(bytesPerSecond: rate(tuner.count))
      if decision != .hold { changes.append(decision) }
    }
    return changes
  }

  @Test func aLossyPathRewardsEveryDoublingUpToTheMaximum() {
    var tuner = ConnectionTuner(start: 4, maximum: 64)
    // Each connection is held to 160 kB/s by loss; the path carries 12.5 MB/s.
    let changes = run(&tuner, rate: { min(Double($0) * 160_000, 12_500_000) })
    #expect(changes == [.grow(to: 8), .grow(to: 16), .grow(to: 32), .grow(to: 64)])
    #expect(tuner.count == 64)
    #expect(tuner.isSettled)
  }

  @Test func aFullPathGoesBackToTheCountThatPaid() {
    var tuner = ConnectionTuner(start: 4, maximum: 64)
    // Four connections already fill it; more change nothing.
    let changes = run(&tuner, rate: { _ in 110_000_000 })
    #expect(changes == [.grow(to: 8), .shrink(to: 4)])
    #expect(tuner.count == 4)
    #expect(tuner.baseline == .init(count: 4, bytesPerSecond: 110_000_000))
  }

  @Test func aPathThatFillsOnTheWayStopsWhereTheGainEnds() {
    var tuner = ConnectionTuner(start: 4, maximum: 64)
    // 0.1% loss: 550 kB/s per connection, 12.5 MB/s in all. 16 -> 32 still brings 1.4x; 64 nothing.
    let changes = run(&tuner, rate: { min(Double($0) * 550_000, 12_500_000) })
    #expect(changes == [.grow(to: 8), .grow(to: 16), .grow(to: 32), .grow(to: 64), .shrink(to: 32)])
    #expect(tuner.count == 32)
  }

  @Test func samplesOfNothingAreSkipped() {
    var tuner = ConnectionTuner(start: 2, maximum: 8, warmUpSamples: 1, measuredSamples: 2)
    #expect(tuner.record(bytesPerSecond: 100) == .hold)  // warm-up
    #expect(tuner.record(bytesPerSecond: 100) == .hold)
    #expect(tuner.record(bytesPerSecond: 0) == .hold)  // a blackout: not a measurement
    #expect(tuner.record(bytesPerSecond: 100) == .grow(to: 4))
    #expect(tuner.record(bytesPerSecond: 0) == .hold)
    #expect(tuner.record(bytesPerSecond: 300) == .hold)  // warm-up of the new two
    #expect(tuner.record(bytesPerSecond: 300) == .hold)
    #expect(tuner.record(bytesPerSecond: 300) == .grow(to: 8))
  }

  @Test func aReconnectionWarmsUpAgainBeforeMeasuring() {
    var tuner = ConnectionTuner(start: 2, maximum: 8, warmUpSamples: 1, measuredSamples: 1)
    #expect(tuner.record(bytesPerSecond: 100) == .hold)  // warm-up
    tuner.reconnected()
    #expect(tuner.record(bytesPerSecond: 5) == .hold)  // the new connections' slow start: not counted
    #expect(tuner.record(bytesPerSecond: 100) == .grow(to: 4))
    #expect(tuner.baseline == .init(count: 2, bytesPerSecond: 100))
  }

  @Test func theGrowthStopsAtTheMaximumEvenWhenNotAPowerOfTwo() {
    var tuner = ConnectionTuner(start: 4, maximum: 10)
    let changes = run(&tuner, rate: { Double($0) })
    #expect(changes == [.grow(to: 8), .grow(to: 10)])
    #expect(tuner.isSettled)
  }

  @Test func aTunerStartingAtItsMaximumNeverMoves() {
    var tuner = ConnectionTuner(start: 2, maximum: 2)
    #expect(tuner.isSettled)
    #expect(tuner.record(bytesPerSecond: 1) == .hold)
    #expect(tuner.count == 2)
  }
}
