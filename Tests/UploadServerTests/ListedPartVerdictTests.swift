import Testing
import UploadCore
@testable import UploadServer

/// What CompleteSession makes of a committed part, given what the object store lists for it.
@Suite struct ListedPartVerdictTests {
  let bytes = ContentHash.of(Array("part two".utf8))
  let other = ContentHash.of(Array("other bytes".utf8))

  var part: PartRecord {
    PartRecord(
      sessionID: SessionID(unchecked: String(repeating: "a", count: 32)), number: 2, size: 100, receivedBytes: 100,
      sha256: bytes, etag: "\"e2\"", state: .committed, updatedAt: 0)
  }

  @Test func theRecordedETagAndSizeAreThePart() {
    #expect(ListedPart.verdict(for: part, listed: [ListedPart(etag: "\"e2\"", size: 100)]) == .complete(etag: "\"e2\""))
    // Quotes are the store's business.
    #expect(ListedPart.verdict(for: part, listed: [ListedPart(etag: "e2", size: 100)]) == .complete(etag: "e2"))
  }

  @Test func aStoreKeepingEveryUploadOfANumberCompletesWithTheRecordedOne() {
    let listed = [ListedPart(etag: "\"e2\"", size: 100), ListedPart(etag: "\"late\"", size: 50)]
    #expect(ListedPart.verdict(for: part, listed: listed) == .complete(etag: "\"e2\""))
  }

  @Test func theSameBytesUnderAnotherETagAreKept() {
    // A taken-over node uploaded the same bytes again after the recorded commit (S3 replaced it).
    let listed = [ListedPart(etag: "\"late\"", size: 100, sha256: bytes)]
    #expect(ListedPart.verdict(for: part, listed: listed) == .complete(etag: "\"late\""))
  }

  @Test func otherBytesOrNoneAreReceivedAgain() {
    let replaced = ListedPart.verdict(for: part, listed: [ListedPart(etag: "\"late\"", size: 100, sha256: other)])
    let unverifiable = ListedPart.verdict(for: part, listed: [ListedPart(etag: "\"late\"", size: 100)])
    let resized = ListedPart.verdict(for: part, listed: [ListedPart(etag: "\"e2\"", size: 99)])
    let missing = ListedPart.verdict(for: part, listed: [])
    for verdict in [replaced, unverifiable, resized, missing] {
      guard case .receiveAgain = verdict else {
        Issue.record("expected the part to be received again, got \(verdict)")
        continue
      }
    }
    #expect(missing == .receiveAgain("the store does not list it"))
  }

  @Test func aStoreWithoutETagsIsJudgedBySize() {
    #expect(ListedPart.verdict(for: part, listed: [ListedPart(etag: "", size: 100)]) == .complete(etag: "\"e2\""))
    guard case .receiveAgain = ListedPart.verdict(for: part, listed: [ListedPart(etag: "", size: 7)]) else {
      Issue.record("a part of another size was accepted")
      return
    }
  }
}
