import Foundation
import GRDB
import Testing
import UploadCore
import UploadServer

/// One suite every `SessionStore` passes: SQLite in memory and in a file (WAL pool), and
/// PostgreSQL (a fresh schema per test) whenever the test run has one, which scripts/test.sh
/// always does.
@Suite struct SessionStoreConformanceTests {
  enum Backing: String, CaseIterable, CustomTestStringConvertible {
    case memory, file, postgres
    var testDescription: String { rawValue }

    /// PostgreSQL only where the run has one (or requires one: then its absence fails).
    static var enabled: [Backing] { TestPostgres.enabled ? allCases : [.memory, .file] }
  }

  func withStore(_ backing: Backing, _ body: (any SessionStore) async throws -> Void) async throws {
    switch backing {
    case .memory:
      try await body(try SQLSessionStore.inMemory())
    case .file:
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      try await body(try SQLSessionStore.sqlite(path: directory.path + "/sessions.sqlite"))
    case .postgres:
      let (store, _) = try await TestPostgres.store()
      defer { store.close() }
      try await body(store)
    }
  }

  /// Two handles on one database, as two replicas have: nodes "node-a" and "node-b".
  func withTwoNodes(_ backing: Backing, _ body: (any SessionStore, any SessionStore) async throws -> Void)
    async throws
  {
    switch backing {
    case .memory, .file:
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let path = directory.path + "/sessions.sqlite"
      try await body(try SQLSessionStore.sqlite(path: path, node: "node-a"), try SQLSessionStore.sqlite(path: path, node: "node-b"))
    case .postgres:
      let (a, url) = try await TestPostgres.store(node: "node-a")
      defer { a.close() }
      let (b, _) = try await TestPostgres.store(node: "node-b", url: url)
      defer { b.close() }
      try await body(a, b)
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

  @Test(arguments: Backing.enabled)
  func keepsTheOriginApartFromTheMetadata(_ backing: Backing) async throws {
    try await withStore(backing) { store in
      var contract = try session(1)
      (contract.origin, contract.metadata) = (.originalContract, [:])
      // A resumable session whose user metadata is the pair that once marked the original contract.
      var resumable = try session(2)
      resumable.metadata = ["uploader-origin": "uploader.FileUploader/Upload"]
      for s in [contract, resumable] { _ = try await store.create(s, parts: parts(of: s)) }
      #expect(try await store.session(contract.id)?.origin == .originalContract)
      #expect(try await store.session(contract.id)?.metadata == [:])
      #expect(try await store.session(resumable.id)?.origin == .resumable)
      #expect(try await store.session(resumable.id)?.metadata == resumable.metadata)
    }
  }

  @Test(arguments: Backing.enabled)
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

  @Test(arguments: Backing.enabled)
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

  @Test(arguments: Backing.enabled)
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

  @Test(arguments: Backing.enabled)
  func aStaleWriterIsRefusedByTheDatabaseNotOnlyByMemory(_ backing: Backing) async throws {
    try await withTwoNodes(backing) { first, second in
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
  }

  @Test(arguments: Backing.enabled)
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

  @Test(arguments: Backing.enabled)
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
      // The refused transaction had already written part 1: that write was rolled back, and the
      // next write runs (no transaction was left open).
      #expect(try await store.part(of: s.id, number: 1)?.receivedBytes == 0)
      try await store.heartbeat(now: 3_000)
      #expect(try await store.nodes(heartbeatSince: 3_000) == [store.node])
    }
  }

  @Test(arguments: Backing.enabled)
  func pendingAbortsAreKeptUntilDone(_ backing: Backing) async throws {
    try await withStore(backing) { store in
      var s = try session(4)
      _ = try await store.create(s, parts: parts(of: s))
      #expect(try await store.takePendingAborts(now: 1, leaseUntil: 10).isEmpty)
      s.state = .aborted
      s.abortPending = true
      try await store.update(s)
      #expect(try await store.takePendingAborts(now: 1, leaseUntil: 10).map(\.id) == [s.id])
      // Taken until 10: not handed out again before, unless given back.
      #expect(try await store.takePendingAborts(now: 5, leaseUntil: 20).isEmpty)
      try await store.finishAbort(s.id, done: false)
      #expect(try await store.takePendingAborts(now: 6, leaseUntil: 20).map(\.id) == [s.id])
      try await store.finishAbort(s.id, done: true)
      #expect(try await store.takePendingAborts(now: 100, leaseUntil: 200).isEmpty)
      #expect(try await store.session(s.id)?.abortPending == false)
    }
  }

  @Test(arguments: Backing.enabled)
  func aSessionIsClosedOnceWhoeverTriesFirst(_ backing: Backing) async throws {
    try await withTwoNodes(backing) { a, b in
      let s = try session(5)
      _ = try await a.create(s, parts: parts(of: s))
      let closed = try #require(try await a.close(s.id, as: .expired, now: 2_000, notify: false))
      #expect(closed.state == .expired && closed.abortPending && closed.updatedAt == 2_000)
      #expect(try await b.close(s.id, as: .aborted, now: 2_001, notify: false) == nil)
      #expect(try await b.session(s.id)?.state == .expired)
      // Whoever takes the pending abort has it; the other node does not get it too.
      #expect(try await b.takePendingAborts(now: 2_002, leaseUntil: 9_000).map(\.id) == [s.id])
      #expect(try await a.takePendingAborts(now: 2_003, leaseUntil: 9_000).isEmpty)
    }
  }

  @Test(arguments: Backing.enabled)
  func aPartClaimedOnAnotherNodeStartsAgainThereAndTheOldNodeIsFenced(_ backing: Backing) async throws {
    try await withTwoNodes(backing) { a, b in
      let s = try session(6)
      _ = try await a.create(s, parts: parts(of: s))
      var onA = try await a.claim(s.id, number: 1, size: 5 << 20, now: 2_000)
      #expect(onA.holderNode == "node-a")
      onA.receivedBytes = 1 << 20
      try await a.update(onA, sessionUpdatedAt: 2_001, expiresAt: 9_000)

      // The same node claiming again keeps its bytes (its spool has them).
      onA = try await a.claim(s.id, number: 1, size: 5 << 20, now: 2_002)
      #expect(onA.receivedBytes == 1 << 20 && onA.holderNode == "node-a")

      // Another node cannot read node-a's spool: the part starts again from 0 there.
      let onB = try await b.claim(s.id, number: 1, size: 5 << 20, now: 2_003)
      #expect(onB.receivedBytes == 0 && onB.holderNode == "node-b" && onB.generation == onA.generation + 1)
      var late = onA
      late.receivedBytes = 2 << 20
      await #expect {
        try await a.update(late, sessionUpdatedAt: 2_004, expiresAt: 9_000)
      } throws: { ($0 as? UploadError)?.code == .partTakenOver }
      #expect(try await b.part(of: s.id, number: 1)?.receivedBytes == 0)

      // A received part stays with the node whose spool holds it, whoever claims it.
      var received = onB
      received.receivedBytes = received.size
      received.state = .received
      received.sha256 = .empty
      try await b.update(received, sessionUpdatedAt: 2_005, expiresAt: 9_000)
      let again = try await a.claim(s.id, number: 1, size: 5 << 20, now: 2_006)
      #expect(again.state == .received && again.holderNode == "node-b" && again.receivedBytes == received.size)
      #expect(try await a.sessionsWithReceivedParts().isEmpty)
      #expect(try await b.sessionsWithReceivedParts().map { $0.1 } == [[1]])
    }
  }

  @Test(arguments: Backing.enabled)
  func partsOfANodeWhoseHeartbeatLapsedAreResetForAnyNode(_ backing: Backing) async throws {
    try await withTwoNodes(backing) { a, b in
      let s = try session(7)
      _ = try await a.create(s, parts: parts(of: s))
      try await a.heartbeat(now: 1_000)
      try await b.heartbeat(now: 1_000)
      var receiving = try await a.claim(s.id, number: 1, size: 5 << 20, now: 1_000)
      receiving.receivedBytes = 4096
      try await a.update(receiving, sessionUpdatedAt: 1_000, expiresAt: 9_000)
      var received = try await a.claim(s.id, number: 2, size: 5 << 20, now: 1_000)
      received.receivedBytes = received.size
      received.state = .received
      received.sha256 = .empty
      try await a.update(received, sessionUpdatedAt: 1_000, expiresAt: 9_000)
      var committed = try await b.claim(s.id, number: 3, size: 2 << 20, now: 1_000)
      committed.receivedBytes = committed.size
      committed.state = .received
      committed.sha256 = .empty
      try await b.update(committed, sessionUpdatedAt: 1_000, expiresAt: 9_000)
      _ = try await b.commit(s.id, number: 3, etag: "e3", now: 1_001)

      // node-a is alive at 5_000: nothing lapsed before 2_000.
      try await a.heartbeat(now: 5_000)
      #expect(try await b.nodes(heartbeatSince: 2_000) == ["node-a"])
      #expect(try await b.nodes(heartbeatSince: 1_000) == ["node-a", "node-b"])
      #expect(try await b.resetPartsOfLapsedNodes(lapsedBefore: 2_000).isEmpty)
      // node-b keeps beating, node-a stops.
      try await b.heartbeat(now: 20_000)
      let reset = try await b.resetPartsOfLapsedNodes(lapsedBefore: 10_000)
      #expect(reset.map(\.number).sorted() == [1, 2])
      let now = try await b.parts(of: s.id)
      #expect(now.map(\.state) == [.receiving, .receiving, .committed])
      #expect(now.map(\.receivedBytes) == [0, 0, 2 << 20])
      #expect(now[0].holderNode == nil && now[1].holderNode == nil && now[2].holderNode == "node-b")
      // node-a's writers are fenced.
      await #expect {
        try await a.update(receiving, sessionUpdatedAt: 20_001, expiresAt: 90_000)
      } throws: { ($0 as? UploadError)?.code == .partTakenOver }
      // A node never resets its own parts.
      #expect(try await a.resetPartsOfLapsedNodes(lapsedBefore: 100_000).isEmpty)
    }
  }

  @Test(.enabled(if: TestPostgres.enabled))
  func replicasStartingTogetherMigrateOnce() async throws {
    let url = try await TestPostgres.freshSchema()
    let stores = try await withThrowingTaskGroup(of: SQLSessionStore.self) { group in
      for node in ["a", "b", "c", "d"] {
        group.addTask {
          try await SQLSessionStore.postgres(url: url, node: node, timeout: TestPostgres.timeout, logger: quietLogger)
        }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    defer { for store in stores { store.close() } }
    // Every handle works on the same tables.
    let s = try session(8)
    _ = try await stores[0].create(s, parts: parts(of: s))
    for store in stores { #expect(try await store.session(s.id)?.id == s.id) }
  }

  @Test func anUnreachableDatabaseIsNamedAtStart() async throws {
    let url = try PostgresURL("postgres://nobody@127.0.0.1:1/nothing")
    await #expect {
      _ = try await SQLSessionStore.postgres(url: url, node: "a", timeout: .seconds(2), logger: quietLogger)
    } throws: { error in
      guard let error = error as? UploadError else { return false }
      return error.code == .databaseUnavailable && error.message.contains("cannot reach the session database at postgres://nobody@127.0.0.1:1/nothing")
    }
  }

  @Test func databaseAddressesAreCheckedAndTheirPasswordsKeptOutOfLogs() throws {
    let url = try PostgresURL("postgres://app:s3cret@db.internal:6432/uploads?sslmode=require&search_path=tenant1")
    #expect(url.host == "db.internal" && url.port == 6432 && url.user == "app" && url.password == "s3cret")
    #expect(url.database == "uploads" && url.tlsMode == "require" && url.searchPath == "tenant1")
    #expect("\(url)" == "postgres://app@db.internal:6432/uploads")
    for bad in ["mysql://a@b/c", "postgres://b/c", "postgres://a@/c", "postgres://a@b", "postgres://a@b/c?sslmode=maybe"] {
      #expect(throws: UploadError.self, "\(bad)") { _ = try PostgresURL(bad) }
    }
  }
}
