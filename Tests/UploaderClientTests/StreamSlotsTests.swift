import Testing

@testable import UploaderClient

@Suite struct StreamSlotsTests {
  /// Starts streams below `target` as `runStreams` does; returns the indexes started.
  private func start(_ slots: inout StreamSlots, upTo target: Int) -> [Int] {
    var started: [Int] = []
    while let index = slots.free(below: target) {
      slots.started(index)
      started.append(index)
    }
    return started
  }

  @Test func startsTheIndexesBelowTheTargetOnce() {
    var slots = StreamSlots()
    #expect(start(&slots, upTo: 4) == [0, 1, 2, 3])
    #expect(start(&slots, upTo: 4) == [])
    #expect(start(&slots, upTo: 8) == [4, 5, 6, 7])
    #expect(slots.count == 8)
  }

  @Test func aRaiseAfterALowerStartsStreamsWhereTheStoppedOnesRan() {
    var slots = StreamSlots()
    _ = start(&slots, upTo: 8)
    // The tuner went back to 4: streams 4 to 7 stop after their parts.
    for index in 4..<8 { slots.ended(index) }
    #expect(slots.count == 4)
    // It tries 8 again: four new streams, not none.
    #expect(start(&slots, upTo: 8) == [4, 5, 6, 7])
  }

  @Test func aStreamStillFinishingItsPartIsNotStartedTwice() {
    var slots = StreamSlots()
    _ = start(&slots, upTo: 8)
    // Lowered to 4, then raised to 8 before streams 6 and 7 finished their parts.
    for index in [4, 5] { slots.ended(index) }
    #expect(start(&slots, upTo: 8) == [4, 5])
    #expect(slots.count == 8)
  }

  @Test func isEmptyOnceEveryStreamEnded() {
    var slots = StreamSlots()
    _ = start(&slots, upTo: 2)
    slots.ended(0)
    #expect(!slots.isEmpty)
    slots.ended(1)
    #expect(slots.isEmpty)
    #expect(slots.free(below: 0) == nil)
  }
}
