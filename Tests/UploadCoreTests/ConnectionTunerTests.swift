import Testing
import UploadCore

@Suite struct ConnectionTunerTests {
  /// Feeds `rate(count)` for `samples` samples; returns the decisions that changed the count.
  private func run(_ tuner: inout ConnectionTuner, rate: (Int) -> Double, samples: Int = 100) -> [ConnectionTuner.Decision] {
    var changes: [ConnectionTuner.Decision] = []
    for _ in 0..<samples {
      let decision = tuner.record(bytesPerSecond: rate(tuner.count))
      if decision != .hold { changes.append(decision) }
    }
    return changes
  }

  @Test func aLossyPathRewardsEveryStepUpToTheMaximumAndASteepDoublingQuadruplesTheNext() {
    var tuner = ConnectionTuner(start: 4, maximum: 64)
    // Each connection is held to 160 kB/s by loss; the path carries 12.5 MB/s. 4 -> 8 pays 2x,
    // so the next step is 4x.
    let changes = run(&tuner, rate: { min(Double($0) * 160_000, 12_500_000) })
    #expect(changes == [.grow(to: 8), .grow(to: 32), .grow(to: 64)])
    #expect(tuner.count == 64)
    #expect(tuner.isSettled)
  }

  @Test func aDoublingThatPaysOnlyInPartDoublesAgain() {
    var tuner = ConnectionTuner(start: 4, maximum: 64)
    // Every doubling brings 1.5x: enough to keep (1.25), not steep (1.75).
    let changes = run(&tuner, rate: { count in
      var (c, rate) = (4, 640_000.0)
      while c < count { (c, rate) = (c * 2, rate * 1.5) }
      return rate
    })
    #expect(changes == [.grow(to: 8), .grow(to: 16), .grow(to: 32), .grow(to: 64)])
    #expect(tuner.isSettled)
  }

  @Test func aQuadruplingThatDoesNotPayGoesBackToTheCountBeforeIt() {
    var tuner = ConnectionTuner(start: 4, maximum: 64)
    // 8 connections fill the path: 4 -> 8 is steep, 8 -> 32 brings nothing.
    let changes = run(&tuner, rate: { min(Double($0) * 160_000, 1_280_000) }, samples: 11)
    #expect(changes == [.grow(to: 8), .grow(to: 32), .shrink(to: 8)])
    #expect(tuner.count == 8)
  }

  @Test func aFullPathGoesBackToTheCountThatPaidAndTriesAgainLater() {
    var tuner = ConnectionTuner(start: 4, maximum: 64)
    // Four connections already fill it; more change nothing. 3 + 2 samples to measure 4, 1 + 2 to
    // measure 8, then 10 held at 4, 2 to measure 4 again, and so on: 18 samples per try after the first.
    #expect(run(&tuner, rate: { _ in 110_000_000 }, samples: 8) == [.grow(to: 8), .shrink(to: 4)])
    #expect(tuner.count == 4 && !tuner.isSettled)
    #expect(tuner.baseline == .init(count: 4, bytesPerSecond: 110_000_000))
    #expect(run(&tuner, rate: { _ in 110_000_000 }, samples: 10) == [])
    #expect(run(&tuner, rate: { _ in 110_000_000 }, samples: 5) == [.grow(to: 8), .shrink(to: 4)])
    #expect(tuner.count == 4)
  }

  @Test func aBaselineInflatedBySlowStartIsMeasuredAgain() {
    var tuner = ConnectionTuner(start: 4, maximum: 16)
    // The first measurement of 4 catches their slow start (3x their steady rate), so 8 seems not
    // to pay; measured again after the hold, 4 shows their real rate, and the doublings pay.
    var samples = 0
    let changes = run(&tuner, rate: { count in
      samples += 1
      return Double(count) * (samples <= 5 ? 480_000 : 160_000)
    }, samples: 40)
    #expect(changes == [.grow(to: 8), .shrink(to: 4), .grow(to: 8), .grow(to: 16)])
    #expect(tuner.count == 16 && tuner.isSettled)
  }

  @Test func aPathThatFillsOnTheWayStopsWhereTheGainEnds() {
    var tuner = ConnectionTuner(start: 4, maximum: 64)
    // 0.1% loss: 550 kB/s per connection, 12.5 MB/s in all. 4 -> 8 is steep; 8 -> 32 still
    // brings 2.8x, not steep for a 4x step; 64 brings nothing.
    let changes = run(&tuner, rate: { min(Double($0) * 550_000, 12_500_000) }, samples: 14)
    #expect(changes == [.grow(to: 8), .grow(to: 32), .grow(to: 64), .shrink(to: 32)])
    #expect(tuner.count == 32)
  }

  @Test func samplesOfNothingAreSkipped() {
    var tuner = ConnectionTuner(start: 2, maximum: 8, firstWarmUpSamples: 1, warmUpSamples: 1, measuredSamples: 2)
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
    var tuner = ConnectionTuner(start: 2, maximum: 8, firstWarmUpSamples: 1, warmUpSamples: 1, measuredSamples: 1)
    #expect(tuner.record(bytesPerSecond: 100) == .hold)  // warm-up
    tuner.reconnected()
    #expect(tuner.record(bytesPerSecond: 5) == .hold)  // the new connections' slow start: not counted
    #expect(tuner.record(bytesPerSecond: 100) == .grow(to: 4))
    #expect(tuner.baseline == .init(count: 2, bytesPerSecond: 100))
  }

  @Test func theFirstAttemptKeepsTheLongerFirstWarmUp() {
    var tuner = ConnectionTuner(start: 2, maximum: 8, firstWarmUpSamples: 3, warmUpSamples: 1, measuredSamples: 1)
    tuner.reconnected()  // every attempt says so, the first one too
    #expect((0..<3).map { _ in tuner.record(bytesPerSecond: 100) } == [.hold, .hold, .hold])
    #expect(tuner.record(bytesPerSecond: 100) == .grow(to: 4))
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
