import Testing
import UploadCore

@testable import UploaderClient

@Suite struct PartQueueTests {
  @Test func handsOutEachPartOnceInOrder() {
    let parts = (1...3).map { JournalPart(number: $0, size: 10, sha256: .empty) }
    let queue = PartQueue([(parts[0], 0), (parts[1], 4), (parts[2], 0)])
    #expect(queue.next().map { [$0.0.number, Int($0.1)] } == [1, 0])
    #expect(queue.next().map { [$0.0.number, Int($0.1)] } == [2, 4])
    #expect(queue.next().map { [$0.0.number, Int($0.1)] } == [3, 0])
    #expect(queue.next() == nil)
  }
}
