import Testing
import UploadCore

@Suite struct PartLedgerTests {
  let digest = ContentHash.of(Array("part".utf8))

  @Test func appendsAtTheReceivedOffset() throws {
    var ledger = PartLedger(number: 1, size: 100)
    #expect(try ledger.place(offset: 0, length: 40) == .append(skip: 0, at: 0))
    ledger.wrote(40)
    #expect(ledger.pendingBytes == 40)
    ledger.madeDurable()
    #expect(ledger.durableBytes == 40 && ledger.pendingBytes == 0)
  }

  @Test func skipsBytesAlreadyReceived() throws {
    var ledger = PartLedger(number: 1, size: 100, durableBytes: 40)
    #expect(try ledger.place(offset: 30, length: 20) == .append(skip: 10, at: 40))
    #expect(try ledger.place(offset: 0, length: 40) == .duplicate)
    ledger.wrote(10)
    #expect(ledger.receivedBytes == 50)
  }

  @Test func refusesAGapWithTheOffsetToSendFrom() {
    let ledger = PartLedger(number: 3, size: 100, durableBytes: 40)
    #expect {
      try ledger.place(offset: 41, length: 1)
    } throws: { error in
      guard let error = error as? UploadError else { return false }
      return error.code == .offsetGap && error.expectedOffset == 40 && error.message.contains("send from offset 40")
    }
  }

  @Test func refusesDataPastThePart() {
    let ledger = PartLedger(number: 1, size: 100, durableBytes: 90)
    #expect(throws: UploadError.self) { try ledger.place(offset: 90, length: 11) }
    #expect(throws: UploadError.self) { try ledger.place(offset: -1, length: 1) }
  }

  @Test func aFullPartMatchingItsDigestIsReceived() throws {
    var ledger = PartLedger(number: 1, size: 4)
    ledger.declare(digest)
    ledger.wrote(4)
    #expect(ledger.isFull)
    #expect(ledger.verify(actual: digest) == .matches)
    #expect(ledger.state == .received && ledger.durableBytes == 4)
    #expect(try ledger.place(offset: 0, length: 4) == .duplicate)
    ledger.committed()
    #expect(ledger.state == .committed)
  }

  @Test func aFullPartWaitsForItsDigest() {
    var ledger = PartLedger(number: 1, size: 4)
    ledger.wrote(4)
    #expect(ledger.verify(actual: digest) == .awaitingDigest)
    #expect(ledger.state == .receiving && ledger.receivedBytes == 4)
  }

  @Test func aMismatchResetsThePart() {
    var ledger = PartLedger(number: 1, size: 4)
    ledger.declare(.empty)
    ledger.wrote(4)
    ledger.madeDurable()
    #expect(ledger.verify(actual: digest) == .mismatch(expected: .empty))
    #expect(ledger.state == .receiving && ledger.receivedBytes == 0 && ledger.durableBytes == 0)
    #expect(ledger.expectedSHA256 == nil)
  }

  @Test func aReceivedPartResumesAsReceived() throws {
    let ledger = PartLedger(number: 2, size: 10, state: .received)
    #expect(ledger.receivedBytes == 10 && ledger.durableBytes == 10)
    #expect(try ledger.place(offset: 0, length: 10) == .duplicate)
  }

  @Test func theFinalPartEndsWhereItsBytesEnd() {
    var ledger = PartLedger(number: 3, size: 100)
    ledger.wrote(40)
    #expect(!ledger.isFull)
    ledger.end()
    #expect(ledger.size == 40 && ledger.isFull)
    ledger.declare(ContentHash.of([UInt8](repeating: 0, count: 40)))
    #expect(ledger.verify(actual: ContentHash.of([UInt8](repeating: 0, count: 40))) == .matches)
    #expect(ledger.state == .received)
  }

  @Test func anUndeclaredDigestIsAcceptedOnlyWhenAsked() {
    var strict = PartLedger(number: 1, size: 4)
    strict.wrote(4)
    #expect(strict.verify(actual: .empty) == .awaitingDigest)
    var trusting = PartLedger(number: 1, size: 4, acceptsUndeclaredDigest: true)
    trusting.wrote(4)
    #expect(trusting.verify(actual: .empty) == .matches && trusting.state == .received)
  }
}

