import Foundation
import GRDB
import Testing
import UploadCore
import UploadServer

/// The store methods the other conformance tests do not reach, and the points where the two
/// stores once disagreed, each now decided once for both.
extension SessionStoreConformanceTests {
  @Test(arguments: Backing.enabled)
  func pingsCountsByStateAndResetsAPart(_ backing: Backing) async throws {
    try await withStore(backing) { store in
      try await store.ping()
      for (n, state) in [(1, SessionState.open), (2, .open), (3, .completed), (4, .aborted)] {
        var s = try session(n)
        s.state = state
        _ = try await store.create(s, parts: parts(of: s))
      }
      #expect(try await store.countsByState() == [.open: 2, .completed: 1, .aborted: 1])

      let id = try session(1).id
      var part = try await store.claim(id, number: 1, size: 5 << 20, now: 1_100)
      part.receivedBytes = 4 << 20
      try await store.update(part, sessionUpdatedAt: 1_200, expiresAt: 5_000)
      try await store.reset(part, to: 1 << 20)
      #expect(try await store.part(of: id, number: 1)?.receivedBytes == 1 << 20)
      // The writer that held the part is refused from then on.
      await #expect(throws: UploadError.self) {
        try await store.update(part, sessionUpdatedAt: 1_300, expiresAt: 5_000)
      }
    }
  }

  /// A received part is found for committing by the node that holds it, not by another. (Both
  /// stores also take a received part that no node holds, which only SQLite rows recorded
  /// before nodes existed can be; they once disagreed on it.)
  @Test(arguments: Backing.enabled)
  func aReceivedPartIsFoundForCommittingByItsNodeOnly(_ backing: Backing) async throws {
    try await withTwoNodes(backing) { a, b in
      let s = try session(1)
      // Created with progress in its records: a store starts every part afresh all the same.
      var rows = parts(of: s)
      (rows[0].state, rows[0].receivedBytes) = (.received, rows[0].size)
      _ = try await a.create(s, parts: rows)
      #expect(try await a.part(of: s.id, number: 1)?.state == .receiving)
      #expect(try await a.part(of: s.id, number: 1)?.receivedBytes == 0)

      var part = try await a.claim(s.id, number: 2, size: 5 << 20, now: 1_100)
      (part.state, part.receivedBytes) = (.received, part.size)
      try await a.update(part, sessionUpdatedAt: 1_200, expiresAt: 5_000)
      let found = try await a.sessionsWithReceivedParts()
      #expect(found.map(\.0.id) == [s.id])
      #expect(found.map(\.1) == [[2]])
      #expect(try await b.sessionsWithReceivedParts().isEmpty)
    }
  }

  /// Divergence 2: pending aborts come out at most `abortBatch` at a time, the longest waiting
  /// first, in both stores.
  @Test(arguments: Backing.enabled)
  func pendingAbortsComeOutInBatchesLongestWaitingFirst(_ backing: Backing) async throws {
    try await withStore(backing) { store in
      let total = SQLSessionStore.abortBatch + 2
      for n in 1...total {
        var s = try session(n, createdAt: Int64(10_000 - n))  // the last created waits longest
        _ = try await store.create(s, parts: [])
        (s.state, s.abortPending) = (.aborted, true)
        try await store.update(s)
      }
      let first = try await store.takePendingAborts(now: 20_000, leaseUntil: 30_000)
      #expect(first.count == SQLSessionStore.abortBatch)
      #expect(first.map(\.updatedAt) == first.map(\.updatedAt).sorted())
      #expect(first.first?.id == (try session(total)).id)
      #expect(try await store.takePendingAborts(now: 20_001, leaseUntil: 30_000).count == 2)
    }
  }
}

/// Divergence 3: a stored key that no longer validates is the server's fault (INTERNAL), in
/// SQLite as in PostgreSQL (`PostgresSessionStoreTests`).
@Suite struct StoredKeyTests {
  @Test func aStoredKeyThatNoLongerValidatesIsInternal() async throws {
    let store = try SQLSessionStore.inMemory()
    let s = SessionRecord(
      id: SessionID(unchecked: String(repeating: "a", count: 32)), idempotencyKey: nil,
      key: try ObjectKey(validating: "fine"), plan: PartPlan(size: 0, partSize: 5 << 20), contentType: "",
      metadata: [:], storageUploadID: nil, state: .open, createdAt: 1, updatedAt: 1, expiresAt: 2)
    _ = try await store.create(s, parts: [])
    _ = try await store.database.write(SQLStatement("UPDATE sessions SET object_key = '../escape'"))
    await #expect {
      _ = try await store.session(s.id)
    } throws: { error in
      (error as? UploadError)?.code == .internal && "\(error)".contains("invalid object key")
    }
  }
}

extension SessionStoreConformanceTests {
  /// An object stored whole is recorded completed with its part committed and its event queued,
  /// in one step; the same idempotency key then finds it, and a second record changes nothing.
  @Test(arguments: Backing.enabled)
  func insertsAnObjectStoredWholeAsCompleted(_ backing: Backing) async throws {
    try await withStore(backing) { store in
      let digest = ContentHash.of(Array("whole".utf8))
      var s = try session(1, owner: "alice", idempotencyKey: "once")
      (s.plan, s.storageUploadID, s.state, s.sha256, s.etag, s.location) =
        (PartPlan(size: 5, partSize: 5 << 20), nil, .completed, digest, "\"e\"", "s3://b/k1")
      let part = PartRecord(
        sessionID: s.id, number: 1, size: 5, sha256: digest, etag: "\"e\"", state: .committed, updatedAt: 1_000)
      let other = try session(3, owner: "alice", idempotencyKey: "another")
      var empty = other
      (empty.plan, empty.storageUploadID, empty.state) = (PartPlan(size: 0, partSize: 5 << 20), nil, .completed)
      let both = try await store.insertCompleted([(s, [part]), (empty, [])], notify: true)
      #expect(both.map(\.created) == [true, true])
      #expect(both.map(\.session) == [s, empty])
      #expect(try await store.parts(of: empty.id).isEmpty)
      #expect(Set(try await store.sessions(owner: "alice", idempotencyKeys: ["once", "another", "none"]).map(\.id)) == [s.id, empty.id])
      #expect(try await store.session(s.id) == s)
      let parts = try await store.parts(of: s.id)
      #expect(parts.map(\.state) == [.committed])
      #expect(parts.map(\.receivedBytes) == [5])
      #expect(parts.map(\.sha256) == [digest])
      #expect(parts.map(\.etag) == ["\"e\""])
      #expect(try await store.queuedNotificationCount() == 2)
      #expect(try await store.openSessionCount(owner: "alice") == 0)

      var again = try session(2, owner: "alice", idempotencyKey: "once")
      (again.state, again.storageUploadID) = (.completed, nil)
      let retried = try await store.insertCompleted([(again, [])], notify: true)
      #expect(retried.map(\.created) == [false])
      #expect(retried.map(\.session.id) == [s.id])
      #expect(try await store.session(again.id) == nil)
      #expect(try await store.queuedNotificationCount() == 2)
    }
  }
}
