import Testing
import UploadCore

@Suite struct ReceiveCreditTests {
  let credit = ReceiveCredit(budget: 64 << 20, minimum: 512 << 10, maximum: 16 << 20)

  @Test func theBudgetIsSharedEvenlyWithinTheFloorAndTheCeiling() {
    var credit = credit
    #expect(credit.perStream == 16 << 20)  // none open: what the first would get
    for _ in 0..<4 { credit.open() }
    #expect(credit.perStream == 16 << 20)
    for _ in 4..<64 { credit.open() }
    #expect(credit.perStream == 1 << 20)
    for _ in 64..<1_000 { credit.open() }
    #expect(credit.streams == 1_000)
    #expect(credit.perStream == 512 << 10)  // the floor: a report interval and a chunk
  }

  @Test func creditComesBackAsStreamsEnd() {
    var credit = credit
    for _ in 0..<32 { credit.open() }
    #expect(credit.perStream == 2 << 20)
    for _ in 0..<24 { credit.close() }
    #expect(credit.perStream == 8 << 20)
    for _ in 0..<20 { credit.close() }  // more than were open
    #expect(credit.streams == 0)
    #expect(credit.perStream == 16 << 20)
  }

  @Test func aCeilingBelowTheFloorIsRaisedToIt() {
    let credit = ReceiveCredit(budget: 1 << 20, minimum: 2 << 20, maximum: 1 << 20)
    #expect(credit.maximum == 2 << 20)
    #expect(credit.perStream == 2 << 20)
  }

  @Test func reportsComeEveryQuarterOfTheCreditAtMostEveryInterval() {
    #expect(ReceiveCredit.reportInterval(credit: 16 << 20, longestInterval: 1 << 20) == 1 << 20)
    #expect(ReceiveCredit.reportInterval(credit: 1 << 20, longestInterval: 1 << 20) == 256 << 10)
    #expect(ReceiveCredit.reportInterval(credit: 512 << 10, longestInterval: 1 << 20) == 128 << 10)
    #expect(ReceiveCredit.reportInterval(credit: 2, longestInterval: 1 << 20) == 1)
  }
}
