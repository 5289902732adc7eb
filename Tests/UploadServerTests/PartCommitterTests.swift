import AsyncHTTPClient
import Foundation
import GRDB
import S3
import NIOFileSystem
import TestSupport
import Testing
import UploadCore

@testable import UploadServer

/// The committer against real SQLite, a real spool and S3 (SeaweedFS), which, unlike the local
/// directory store, fails an upload whose spool file is gone.
@Suite(.enabled(if: TestS3.enabled)) struct PartCommitterTests {
  @Test func aLaterCallerWithAStalePartGetsTheCommitNotAnUploadFromADeletedSpool() async throws {
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("committer", httpClient: http)
      try await run(objects: S3ObjectStore(client: s3))
    }
  }

  func run(objects: any ObjectStore) async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let store = try SQLSessionStore.inMemory()
    let spool = Spool(root: data.path + "/spool")
    let settings = SessionSettings()
    let committer = PartCommitter(store: store, objectStore: objects, spool: spool, settings: settings)

    let bytes = randomBytes(1000, seed: 5)
    let id = SessionID(unchecked: String(repeating: "a", count: 32))
    let key = try ObjectKey(validating: "stale.bin")
    let session = SessionRecord(
      id: id, idempotencyKey: nil, key: key, plan: PartPlan(size: 1000, partSize: 5 << 20), contentType: "",
      metadata: [:], storageUploadID: try await objects.createUpload(key: key, attributes: ObjectAttributes()), state: .open, createdAt: 0,
      updatedAt: 0, expiresAt: 1)
    _ = try await store.create(session, parts: [PartRecord(sessionID: id, number: 1, size: 1000, updatedAt: 0)])
    var part = try await store.claim(id, number: 1, size: 1000, now: 0)
    part.receivedBytes = 1000
    part.sha256 = ContentHash.of(bytes)
    part.state = .received
    try await store.update(part, sessionUpdatedAt: 0, expiresAt: 1)
    let path = spool.partFile(session: id, number: 1)
    try FileManager.default.createDirectory(atPath: path.removingLastComponent().string, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: path.string))

    let first = try await committer.commit(part, of: session, forward: nil)
    #expect(first.state == .committed && first.etag != nil)
    #expect(!FileManager.default.fileExists(atPath: path.string), "the spool file is deleted once committed")

    // CompleteSession read the part list before that commit finished: its record says received.
    let again = try await committer.commit(part, of: session, forward: nil)
    #expect(again == first)

    // Once the session is closed nothing is kept: a stale record then uploads from a spool file
    // that is gone, S3 refuses, and the store says the part is committed, which is success.
    committer.forget(id)
    #expect(try await committer.commit(part, of: session, forward: nil) == first)
  }
}
