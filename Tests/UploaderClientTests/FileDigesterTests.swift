import Crypto
import Foundation
import GRDB
import Testing
import UploadCore

@testable import UploaderClient

/// The pass that hashes a real file beside the sends, recording into a real (in-memory) journal.
@Suite(.timeLimit(.minutes(1))) struct FileDigesterTests {
  let bytes = (0..<(5 << 20) + 1234).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
  let partSize: Int64 = 2 << 20

  func setUp(recorded: [ContentHash?] = [], whole: ContentHash? = nil) async throws
    -> (FileDigester, Journal, JournalUpload, String)
  {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("digester-\(UUID().uuidString)").path
    try #require(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    let size = Int64(bytes.count)
    let upload = JournalUpload(
      id: "d1", server: "127.0.0.1:1", filePath: path, key: "k",
      identity: FileIdentity(size: size, modificationTimeNanoseconds: 0, inode: 0), partSize: partSize,
      state: .pending, sha256: whole, createdAt: 0)
    let plan = PartPlan(size: size, partSize: partSize)
    let parts = (1...plan.partCount).map {
      JournalPart(number: $0, size: plan.size(ofPart: $0), sha256: recorded.indices.contains($0 - 1) ? recorded[$0 - 1] : nil)
    }
    let journal = try Journal(database: DatabaseQueue())
    try await journal.insert(upload, parts: parts)
    return (FileDigester(upload: upload, parts: parts, journal: journal), journal, upload, path)
  }

  func partDigest(_ number: Int) -> ContentHash {
    let start = (number - 1) * Int(partSize)
    return ContentHash.of(Array(bytes[start..<min(start + Int(partSize), bytes.count)]))
  }

  @Test func hashesEveryPartAndTheWholeOnceAndJournalsThem() async throws {
    let (digester, journal, upload, path) = try await setUp()
    defer { try? FileManager.default.removeItem(atPath: path) }
    // A stream waits for part 3 before the pass has started.
    let waiting = Task { try await digester.digest(ofPart: 3) }
    try await digester.run()
    #expect(try await waiting.value == partDigest(3))
    #expect(try await digester.whole() == ContentHash.of(bytes))
    #expect(try await journal.parts(of: upload.id).map(\.sha256) == [partDigest(1), partDigest(2), partDigest(3)])
    #expect(try await journal.upload(upload.id)?.sha256 == ContentHash.of(bytes))
  }

  @Test func aRecordedDigestTheFileNoLongerHasIsAChange() async throws {
    let (digester, _, _, path) = try await setUp(recorded: [partDigest(1), .empty])
    defer { try? FileManager.default.removeItem(atPath: path) }
    let waiting = Task { try await digester.whole() }
    await #expect(throws: ClientError.self) { try await digester.run() }
    await #expect { try await waiting.value } throws: { error in
      (error as? ClientError)?.message.contains("part 2 no longer has the recorded SHA-256") == true
    }
  }

  @Test func nothingIsReadWhenEveryDigestIsKnown() async throws {
    let (digester, _, _, path) = try await setUp(
      recorded: [partDigest(1), partDigest(2), partDigest(3)], whole: ContentHash.of(bytes))
    try FileManager.default.removeItem(atPath: path)
    try await digester.run()  // the file is gone: it would throw if it were read
    #expect(try await digester.digest(ofPart: 2) == partDigest(2))
  }

  @Test func aFileShortenedSinceTheUploadStartedIsRefused() async throws {
    let (digester, _, _, path) = try await setUp()
    defer { try? FileManager.default.removeItem(atPath: path) }
    // Cut inside part 3, past its first block.
    let handle = try #require(FileHandle(forWritingAtPath: path))
    try handle.truncate(atOffset: UInt64(2 * partSize + (1 << 20) + 10))
    try handle.close()
    let waiting = Task { try await digester.digest(ofPart: 3) }
    await #expect { try await digester.run() } throws: { error in
      (error as? ClientError)?.message.contains("is shorter than when the upload started") == true
    }
    await #expect(throws: ClientError.self) { try await waiting.value }
    #expect(try await digester.digest(ofPart: 2) == partDigest(2))
  }

  @Test func aMissingFileFailsTheWaiters() async throws {
    let (digester, _, _, path) = try await setUp()
    try FileManager.default.removeItem(atPath: path)
    let waiting = Task { try await digester.digest(ofPart: 1) }
    await #expect(throws: ClientError.self) { try await digester.run() }
    await #expect(throws: ClientError.self) { try await waiting.value }
  }
}
