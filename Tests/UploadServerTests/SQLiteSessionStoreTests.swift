import Foundation
import GRDB
import Testing
import UploadCore
import UploadServer

/// The same store tests against an in-memory database and a file-backed WAL pool.
@Suite struct SQLiteSessionStoreTests {
  enum Backing: String, CaseIterable, CustomTestStringConvertible {
    case memory, file
    var testDescription: String { rawValue }
  }

  func withStore(_ backing: Backing, _ body: (SQLiteSessionStore) async throws -> Void) async throws {
    switch backing {
    case .memory:
      try await body(try SQLiteSessionStore(database: DatabaseQueue()))
    case .file:
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      try await body(try SQLiteSessionStore.open(path: directory.path + "/sessions.sqlite"))
    }
  }

  func session(_ n: Int, owner: String = "", idempotencyKey: String? = nil, createdAt: Int64 = 1_000) throws
    -> SessionRecord
  {
    SessionRecord(
      id: SessionID(unchecked: String(format: "%032x", n)), owner: owner, idempotencyKey: idempotencyKey,
      key: try ObjectKey(validating: "k\(n)"), plan: PartPlan(size: 12 << 20, partSize: 5 << 20),
      contentType: "application/octet-stream", metadata: ["a": "b"], storageUploadID: "u\(n)", state: .open,
      createdAt: createdAt, updatedAt: createdAt, expiresAt: createdAt + 100)
  }

  func parts(of session: SessionRecord) -> [PartRecord] {
    (1...session.plan.partCount).map {
      PartRecord(sessionID: session.id, number: $0, size: session.plan.size(ofPart: $0), updatedAt: session.createdAt)
    }
  }

  @Test(arguments: Backing.allCases)
  func roundTripsSessionsAndParts(_ backing: Backing) async throws {
    try await withStore(backing) { store in
      let s = try session(1)
      #expect(try await store.create(s, parts: parts(of: s)).created)
      #expect(try await store.session(s.id) == s)
      #expect(try await store.parts(of: s.id).map(\.size) == [5 << 20, 5 << 20, 2 << 20])

      var part = try #require(try await store.part(of: s.id, number: 2))
      part.receivedBytes = 4096
      part.expectedSHA256 = .empty
      try await store.update(part, sessionUpdatedAt: 2_000, expiresAt: 5_000)
      #expect(try await store.part(of: s.id, number: 2) == part)
      let touched = try #require(try await store.session(s.id))
      #expect(touched.updatedAt == 2_000 && touched.expiresAt == 5_000)

      var completed = touched
      completed.state = .completed
      completed.sha256 = .empty
      completed.etag = "\"e\""
      try await store.update(completed)
      #expect(try await store.session(s.id) == completed)
      #expect(try await store.session(SessionID(unchecked: String(repeating: "f", count: 32))) == nil)
    }
  }

  @Test(arguments: Backing.allCases)
  func idempotencyKeysReturnTheFirstSession(_ backing: Backing) async throws {
    try await withStore(backing) { store in
      let first = try session(1, idempotencyKey: "same")
      let second = try session(2, idempotencyKey: "same")
      #expect(try await store.create(first, parts: parts(of: first)).created)
      let again = try await store.create(second, parts: parts(of: second))
      #expect(!again.created && again.session.id == first.id)
      #expect(try await store.session(owner: "", idempotencyKey: "same")?.id == first.id)
      #expect(try await store.parts(of: second.id).isEmpty)
    }
  }

  @Test(arguments: Backing.allCases)
  func pagesAnOwnersSessionsNewestFirstAndFindsExpiredSessions(_ backing: Backing) async throws {
    try await withStore(backing) { store in
      for n in 1...5 {
        let s = try session(n, owner: "alice", createdAt: Int64(n) * 10)
        _ = try await store.create(s, parts: parts(of: s))
      }
      let bobs = try session(6, owner: "bob", createdAt: 45)
      _ = try await store.create(bobs, parts: parts(of: bobs))
      let firstPage = try await store.sessions(owner: "alice", after: nil, limit: 2)
      #expect(firstPage.map(\.createdAt) == [50, 40])
      let secondPage = try await store.sessions(owner: "alice", after: (40, firstPage[1].id), limit: 2)
      #expect(secondPage.map(\.createdAt) == [30, 20])
      #expect(try await store.sessions(owner: "bob", after: nil, limit: 10).map(\.id) == [bobs.id])
      #expect(try await store.openSessionCount(owner: "alice") == 5)
      #expect(try await store.openSessionCount(owner: "carol") == 0)
      #expect(try await store.sessionsExpiring(before: 130).map(\.createdAt) == [10, 20, 30])
      #expect(try await store.sessions(in: [.open]).count == 6)
      #expect(try await store.sessions(in: [.completed]).isEmpty)
    }
  }

  @Test func aStaleWriterIsRefusedByTheDatabaseNotOnlyByMemory() async throws {
    // Two handles on one file, as two processes (or replicas) would have.
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let path = directory.path + "/sessions.sqlite"
    let first = try SQLiteSessionStore.open(path: path)
    let second = try SQLiteSessionStore.open(path: path)
    let s = try session(1)
    _ = try await first.create(s, parts: parts(of: s))

    let old = try await first.claim(s.id, number: 1, size: 5 << 20, now: 2_000)
    let new = try await second.claim(s.id, number: 1, size: 5 << 20, now: 2_001)
    #expect(new.generation == old.generation + 1)

    var stale = old
    stale.receivedBytes = 4096
    await #expect {
      try await first.update(stale, sessionUpdatedAt: 2_002, expiresAt: 3_000)
    } throws: { ($0 as? UploadError)?.code == .partTakenOver }
    #expect(try await second.part(of: s.id, number: 1)?.receivedBytes == 0)

    var current = new
    current.receivedBytes = 8192
    try await second.update(current, sessionUpdatedAt: 2_003, expiresAt: 3_000)
    #expect(try await first.part(of: s.id, number: 1)?.receivedBytes == 8192)
  }

  @Test(arguments: Backing.allCases)
  func aSessionOfUnknownSizeGetsItsPartsAsTheyAreClaimedAndItsSizeFromTheLast(_ backing: Backing) async throws {
    try await withStore(backing) { store in
      var s = try session(2)
      s.plan = try PartPlan.open(requestedPartSize: 5 << 20, partsPerTier: 2)
      #expect(try await store.create(s, parts: []).created)
      #expect(try await store.session(s.id)?.plan == s.plan)
      #expect(try await store.parts(of: s.id).isEmpty)

      for number in 1...3 {
        var part = try await store.claim(s.id, number: number, size: s.plan.size(ofPart: number), now: 2_000)
        part.receivedBytes = part.size
        part.state = .received
        part.sha256 = .empty
        let ending: Int64? = number == 3 ? s.plan.offset(ofPart: 3) + 7 : nil
        if number == 3 {
          part.size = 7
          part.receivedBytes = 7
        }
        try await store.update(part, sessionUpdatedAt: 2_001, expiresAt: 3_000, endingObject: ending)
      }
      let fixed = try #require(try await store.session(s.id))
      let size = try #require(fixed.plan.size)
      #expect(size == Int64(10 << 20) + 7)
      #expect(fixed.plan.partCount == 3)
      #expect(try await store.parts(of: s.id).map(\.size) == [5 << 20, 5 << 20, 7])
      // A stream that has not heard of the end cannot add a part past it.
      await #expect {
        _ = try await store.claim(s.id, number: 4, size: 10 << 20, now: 2_002)
      } throws: { ($0 as? UploadError)?.code == .invalidRequest }
      #expect(try await store.parts(of: s.id).count == 3)
    }
  }

  @Test(arguments: Backing.allCases)
  func theObjectCannotEndBeforeAPartThatHoldsBytes(_ backing: Backing) async throws {
    try await withStore(backing) { store in
      var s = try session(3)
      s.plan = try PartPlan.open(requestedPartSize: 5 << 20)
      _ = try await store.create(s, parts: [])
      var later = try await store.claim(s.id, number: 2, size: 5 << 20, now: 2_000)
      later.receivedBytes = 1
      try await store.update(later, sessionUpdatedAt: 2_000, expiresAt: 3_000)
      var first = try await store.claim(s.id, number: 1, size: 5 << 20, now: 2_000)
      first.size = 10
      first.receivedBytes = 10
      await #expect {
        try await store.update(first, sessionUpdatedAt: 2_000, expiresAt: 3_000, endingObject: 10)
      } throws: { ($0 as? UploadError)?.code == .invalidRequest && ($0 as? UploadError)?.message.contains("part 2") == true }
      #expect(try await store.session(s.id)?.plan.isSizeKnown == false)
    }
  }

  @Test(arguments: Backing.allCases)
  func pendingAbortsAreKeptUntilDone(_ backing: Backing) async throws {
    try await withStore(backing) { store in
      var s = try session(4)
      _ = try await store.create(s, parts: parts(of: s))
      #expect(try await store.sessionsWithPendingAborts().isEmpty)
      s.state = .aborted
      s.abortPending = true
      try await store.update(s)
      #expect(try await store.sessionsWithPendingAborts().map(\.id) == [s.id])
      s.abortPending = false
      try await store.update(s)
      #expect(try await store.sessionsWithPendingAborts().isEmpty)
    }
  }
}
