import Foundation
import PostgresNIO
import Testing
import UploadCore
import _ConnectionPoolModule

@testable import UploadServer

/// What only the PostgreSQL store has to get right: other replicas' connections.
@Suite(.enabled(if: TestPostgres.enabled)) struct PostgresSessionStoreTests {
  /// A replica frozen between an UPDATE and its COMMIT (SIGSTOP) holds the part's row lock.
  /// PostgreSQL ends its transaction after the store's timeout, so another node can take the
  /// part over; before, the claim waited for the frozen one to wake (CI, 2026-11-27).
  @Test func aReplicaFrozenInsideATransactionDoesNotKeepItsPartsLocked() async throws {
    let (a, url) = try await TestPostgres.store(node: "node-a")
    defer { a.close() }
    let (b, _) = try await TestPostgres.store(node: "node-b", url: url)
    defer { b.close() }
    let session = SessionRecord(
      id: SessionID(unchecked: String(repeating: "f", count: 32)), owner: "", idempotencyKey: nil,
      key: try ObjectKey(validating: "frozen"), plan: PartPlan(size: 1 << 20, partSize: 1 << 20),
      contentType: "application/octet-stream", metadata: [:], storageUploadID: "u", state: .open,
      createdAt: 1_000, updatedAt: 1_000, expiresAt: 100_000)
    _ = try await a.create(session, parts: [PartRecord(sessionID: session.id, number: 1, size: 1 << 20, updatedAt: 1_000)])
    let held = try await a.claim(session.id, number: 1, size: 1 << 20, now: 2_000)

    // node-a's connection, made as the store makes its own, with a timeout of 3 s.
    let frozen = PostgresClient(configuration: PostgresDatabase.clientConfiguration(url, timeout: .seconds(3)))
    let pool = Task { await frozen.run() }
    defer { pool.cancel() }
    let locked = AsyncStream<Void>.makeStream()
    let freeze = Task {
      defer { locked.continuation.finish() }
      try await frozen.withConnection { connection in
        try await connection.query("BEGIN", logger: quietLogger)
        let rows = try await connection.query("SELECT 1 FROM parts WHERE number = 1 FOR UPDATE", logger: quietLogger).collect()
        guard rows.count == 1 else { return }
        locked.continuation.yield()
        // Frozen: no COMMIT for longer than node-b's store waits.
        try? await Task.sleep(for: .seconds(45))
      }
    }
    defer { freeze.cancel() }
    var isLocked = false
    for await _ in locked.stream {
      isLocked = true
      break
    }
    try #require(isLocked, "the frozen connection did not lock the part's row")

    let taken = try await b.claim(session.id, number: 1, size: 1 << 20, now: 3_000)
    #expect(taken.holderNode == "node-b" && taken.generation > held.generation)
  }
}

extension PostgresSessionStoreTests {
  /// SQLite's `StoredKeyTests`, here: a stored key that no longer validates is INTERNAL.
  @Test func aStoredKeyThatNoLongerValidatesIsInternal() async throws {
    let (store, url) = try await TestPostgres.store()
    defer { store.close() }
    let session = SessionRecord(
      id: SessionID(unchecked: String(repeating: "e", count: 32)), idempotencyKey: nil,
      key: try ObjectKey(validating: "fine"), plan: PartPlan(size: 0, partSize: 5 << 20), contentType: "",
      metadata: [:], storageUploadID: nil, state: .open, createdAt: 1, updatedAt: 1, expiresAt: 2)
    _ = try await store.create(session, parts: [])
    let client = PostgresClient(configuration: PostgresDatabase.clientConfiguration(url, timeout: .seconds(10)))
    let pool = Task { await client.run() }
    defer { pool.cancel() }
    try await client.query("UPDATE sessions SET object_key = '../escape'", logger: quietLogger)
    await #expect {
      _ = try await store.session(session.id)
    } throws: { error in
      (error as? UploadError)?.code == .internal && "\(error)".contains("invalid object key")
    }
  }
}

/// How PostgreSQL's failures reach clients: pure, no server needed.
@Suite struct PostgresErrorTranslationTests {
  /// The pool's own failures (its circuit breaker tripped after connections kept failing, or it
  /// was shut down) are the database being unavailable, which clients retry, not INTERNAL.
  @Test func thePoolGivingUpIsTheDatabaseBeingUnavailable() {
    for error in [ConnectionPoolError.connectionCreationCircuitBreakerTripped, .poolShutdown] {
      let translated = PostgresDatabase.translate(error)
      #expect(translated.error.code == .databaseUnavailable && !translated.retry, "\(error)")
    }
    #expect(PostgresDatabase.translate(DeadlinePassed()).error.code == .databaseUnavailable)
  }
}
