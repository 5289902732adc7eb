import Foundation
import Testing
import UploaderClient

@Suite struct UnacknowledgedTailTests {
  @Test func holdsWhatWasReadUntilItIsAcknowledged() throws {
    var tail = UnacknowledgedTail()
    tail.append(Data([0, 1, 2, 3]))
    tail.append(Data([4, 5, 6]))
    #expect(tail.start == 0 && tail.end == 7 && tail.count == 7)
    #expect(tail.bytes(from: 2, count: 4) == Data([2, 3, 4, 5]))

    try tail.acknowledge(upTo: 5)
    #expect(tail.start == 5 && tail.count == 2)
    #expect(tail.bytes(from: 5, count: 10) == Data([5, 6]))
    // An older acknowledgement changes nothing.
    try tail.acknowledge(upTo: 3)
    #expect(tail.start == 5)
  }

  @Test func anAcknowledgementPastTheBytesReadIsAnError() {
    var tail = UnacknowledgedTail()
    tail.append(Data([1, 2]))
    #expect(throws: ClientError.self) { try tail.acknowledge(upTo: 3) }
  }

  @Test func anEmptyReadEndsTheInput() {
    var tail = UnacknowledgedTail()
    #expect(!tail.inputEnded)
    tail.append(Data([9]))
    tail.append(Data())
    #expect(tail.inputEnded && tail.end == 1)
  }
}
