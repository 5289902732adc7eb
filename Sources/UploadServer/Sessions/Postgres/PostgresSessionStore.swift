import Foundation
import Logging
import Migrations
import PostgresNIO
import UploadCore

/// Sessions in PostgreSQL, shared by every replica of the server.
///
/// Nothing in the data path depends on PostgreSQL-only locking (no advisory locks, no
/// LISTEN/NOTIFY): part ownership is a conditional update on the part's generation, each piece
/// of background work is taken with `FOR UPDATE SKIP LOCKED` or a conditional state change, and
/// a transaction that fails with a serialization failure (SQLSTATE 40001) or a deadlock (40P01)
/// is run again. A call that gets no answer within `timeout` fails with `.databaseUnavailable`,
/// so a database outage turns into UNAVAILABLE for clients (which retry) and NOT_SERVING on
/// health, not into calls that hang.
public final class PostgresSessionStore: SessionStore {
  public let node: String
  let client: PostgresClient
  private let running: Task<Void, Never>
  let timeout: Duration
  let logger: Logger

  /// Connects to `url`, applies the migrations (once, whichever replica starts first) and
  /// returns the store. Its connection pool runs until `close()`.
  ///
  /// - Parameters:
  ///   - node: the node this handle works for.
  ///   - timeout: how long one call may wait for the database.
  /// - Throws: `.databaseUnavailable` when the database cannot be reached within `timeout`;
  ///   `.internal` when a migration fails.
  public static func connect(
    to url: PostgresURL, node: String, timeout: Duration = .seconds(5), logger: Logger
  ) async throws(UploadError) -> PostgresSessionStore {
    let client = PostgresClient(configuration: clientConfiguration(url, timeout: timeout), backgroundLogger: logger)
    let store = PostgresSessionStore(client: client, node: node, timeout: timeout, logger: logger)
    do {
      try await store.migrate()
    } catch {
      store.close()
      throw error.code == .databaseUnavailable
        ? UploadError(.databaseUnavailable, "cannot reach the session database at \(url): \(error.message)") : error
    }
    return store
  }

  /// How the store's connections are made. PostgreSQL itself bounds each statement by `timeout`,
  /// and ends a connection that stays idle inside a transaction for longer: a replica frozen
  /// between an UPDATE and its COMMIT (SIGSTOP, a paused VM, a long stall) would
  /// otherwise keep the rows it locked from every other replica, so nobody could take over its
  /// parts until it woke.
  public static func clientConfiguration(_ url: PostgresURL, timeout: Duration) -> PostgresClient.Configuration {
    var configuration = url.configuration
    configuration.options.connectTimeout = timeout
    configuration.options.maximumConnections = 16
    let milliseconds = String(max(1, Int64((timeout.inSeconds * 1000).rounded())))
    configuration.options.additionalStartupParameters += [
      ("statement_timeout", milliseconds), ("idle_in_transaction_session_timeout", milliseconds),
    ]
    return configuration
  }

  private init(client: PostgresClient, node: String, timeout: Duration, logger: Logger) {
    self.client = client
    self.node = node
    self.timeout = timeout
    self.logger = logger
    self.running = Task { await client.run() }
  }

  /// Closes the connection pool.
  public func close() {
    running.cancel()
  }

  // MARK: - Migrations

  private func migrate() async throws(UploadError) {
    try await transaction { connection in
      // Replicas starting together wait here for the first one's migrations.
      try await connection.query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (identifier TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        logger: self.logger)
      try await connection.query("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE", logger: self.logger)
      var applied: Set<String> = []
      for try await identifier in try await connection.query(
        "SELECT identifier FROM schema_migrations", logger: self.logger
      ).decode(String.self) {
        applied.insert(identifier)
      }
      for migration in PostgresSchema.migrations where !applied.contains(migration.identifier) {
        for statement in migration.statements {
          try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await connection.query(
          "INSERT INTO schema_migrations (identifier, applied_at) VALUES (\(migration.identifier), \(now))",
          logger: self.logger)
      }
    }
  }

  // MARK: - Nodes

  public func ping() async throws(UploadError) {
    _ = try await rows("SELECT 1 AS one")
  }

  public func heartbeat(now: Int64) async throws(UploadError) {
    _ = try await rows("""
      INSERT INTO nodes (id, started_at, heartbeat_at) VALUES (\(node), \(now), \(now))
      ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
      """)
  }

  public func nodes(heartbeatSince time: Int64) async throws(UploadError) -> [String] {
    try await rows("SELECT id FROM nodes WHERE heartbeat_at >= \(time) ORDER BY id").map {
      row throws(UploadError) in try Self.decode(row.makeRandomAccess(), "id", as: String.self)
    }
  }

  public func resetPartsOfLapsedNodes(lapsedBefore: Int64) async throws(UploadError) -> [PartRecord] {
    try await rows("""
      WITH lapsed AS (
        SELECT * FROM parts WHERE state IN ('receiving', 'received') AND holder_node IN
          (SELECT id FROM nodes WHERE heartbeat_at < \(lapsedBefore) AND id <> \(node))
        FOR UPDATE SKIP LOCKED
      ), reset AS (
        UPDATE parts SET received_bytes = 0, sha256 = NULL, etag = NULL, state = 'receiving',
          generation = parts.generation + 1, holder_node = NULL
        FROM lapsed WHERE parts.session_id = lapsed.session_id AND parts.number = lapsed.number
      )
      SELECT * FROM lapsed
      """).map(Self.part(from:))
  }

  // MARK: - Sessions

  public func create(_ session: SessionRecord, parts: [PartRecord]) async throws(UploadError)
    -> (session: SessionRecord, created: Bool)
  {
    let insert = try Self.insertQuery(session)
    return try await transaction { connection in
      /// The session the owner created earlier with this idempotency key, if any.
      func existing() async throws -> SessionRecord? {
        guard let key = session.idempotencyKey else { return nil }
        return try await connection.query(
          "SELECT * FROM sessions WHERE owner = \(session.owner) AND idempotency_key = \(key)", logger: self.logger
        ).collect().first.map(Self.session(from:))
      }
      if let earlier = try await existing() { return (earlier, false) }
      guard try await !connection.query(insert, logger: self.logger).collect().isEmpty else {
        // Another call with the same idempotency key inserted first.
        guard let earlier = try await existing() else {
          throw UploadError(.internal, "session \(session.id) was neither inserted nor found")
        }
        return (earlier, false)
      }
      if !parts.isEmpty {
        let numbers = parts.map(\.number)
        let sizes = parts.map(\.size)
        try await connection.query(
          """
          INSERT INTO parts (session_id, number, size, received_bytes, state, updated_at)
          SELECT \(session.id.rawValue), number, size, 0, 'receiving', \(session.createdAt)
          FROM unnest(\(numbers)::bigint[], \(sizes)::bigint[]) AS p(number, size)
          """, logger: self.logger)
      }
      return (session, true)
    }
  }

  public func session(_ id: SessionID) async throws(UploadError) -> SessionRecord? {
    try await rows("SELECT * FROM sessions WHERE id = \(id.rawValue)").first.map(Self.session(from:))
  }

  public func session(owner: String, idempotencyKey: String) async throws(UploadError) -> SessionRecord? {
    try await rows("SELECT * FROM sessions WHERE owner = \(owner) AND idempotency_key = \(idempotencyKey)")
      .first.map(Self.session(from:))
  }

  public func parts(of id: SessionID) async throws(UploadError) -> [PartRecord] {
    try await rows("SELECT * FROM parts WHERE session_id = \(id.rawValue) ORDER BY number").map(Self.part(from:))
  }

  public func part(of id: SessionID, number: Int) async throws(UploadError) -> PartRecord? {
    try await rows("SELECT * FROM parts WHERE session_id = \(id.rawValue) AND number = \(number)")
      .first.map(Self.part(from:))
  }

  public func sessions(owner: String, after cursor: (createdAt: Int64, id: SessionID)?, limit: Int)
    async throws(UploadError) -> [SessionRecord]
  {
    let page: [PostgresRow]
    if let cursor {
      page = try await rows("""
        SELECT * FROM sessions WHERE owner = \(owner)
          AND (created_at < \(cursor.createdAt) OR (created_at = \(cursor.createdAt) AND id < \(cursor.id.rawValue)))
        ORDER BY created_at DESC, id DESC LIMIT \(limit)
        """)
    } else {
      page = try await rows("SELECT * FROM sessions WHERE owner = \(owner) ORDER BY created_at DESC, id DESC LIMIT \(limit)")
    }
    return try page.map(Self.session(from:))
  }

  public func openSessionCount(owner: String) async throws(UploadError) -> Int {
    let counted = try await rows(
      "SELECT COUNT(*) AS n FROM sessions WHERE owner = \(owner) AND state IN ('open', 'completing')")
    return try Self.decode(counted.first, "n", as: Int.self) ?? 0
  }

  public func sessions(in states: Set<SessionState>) async throws(UploadError) -> [SessionRecord] {
    let names = states.map(\.rawValue)
    return try await rows("SELECT * FROM sessions WHERE state = ANY(\(names)) ORDER BY created_at")
      .map(Self.session(from:))
  }

  public func sessionsExpiring(before time: Int64) async throws(UploadError) -> [SessionRecord] {
    try await rows("""
      SELECT * FROM sessions WHERE state IN ('open', 'completing') AND expires_at <= \(time) ORDER BY expires_at
      """).map(Self.session(from:))
  }

  public func sessionsWithReceivedParts() async throws(UploadError) -> [(SessionRecord, [Int])] {
    let found = try await rows("""
      SELECT parts.session_id, parts.number FROM parts JOIN sessions ON sessions.id = parts.session_id
      WHERE parts.state = 'received' AND sessions.state IN ('open', 'completing')
        AND (parts.holder_node = \(node) OR parts.holder_node IS NULL)
      ORDER BY parts.session_id, parts.number
      """)
    var numbers: [String: [Int]] = [:]
    for row in found {
      let cells = row.makeRandomAccess()
      numbers[try Self.decode(cells, "session_id", as: String.self), default: []]
        .append(try Self.decode(cells, "number", as: Int.self))
    }
    var result: [(SessionRecord, [Int])] = []
    for id in numbers.keys.sorted() {
      if let session = try await session(SessionID(unchecked: id)) { result.append((session, numbers[id] ?? [])) }
    }
    return result
  }

  public func takePendingAborts(now: Int64, leaseUntil: Int64) async throws(UploadError) -> [SessionRecord] {
    try await rows("""
      UPDATE sessions SET abort_lease_until = \(leaseUntil) WHERE id IN (
        SELECT id FROM sessions WHERE abort_pending AND abort_lease_until <= \(now)
        ORDER BY updated_at LIMIT \(unescaped: String(Self.abortBatch)) FOR UPDATE SKIP LOCKED)
      RETURNING *
      """).map(Self.session(from:)).sorted { $0.updatedAt < $1.updatedAt }
  }

  public func finishAbort(_ id: SessionID, done: Bool) async throws(UploadError) {
    _ = try await rows("""
      UPDATE sessions SET abort_pending = abort_pending AND NOT \(done), abort_lease_until = 0
      WHERE id = \(id.rawValue)
      """)
  }

  public func close(_ id: SessionID, as state: SessionState, now: Int64, notify: Bool) async throws(UploadError)
    -> SessionRecord?
  {
    // One statement, so the event is queued exactly when the state changes.
    try await rows("""
      WITH closed AS (
        UPDATE sessions SET state = \(state.rawValue), updated_at = \(now),
          abort_pending = (storage_upload_id IS NOT NULL), abort_lease_until = 0
        WHERE id = \(id.rawValue) AND state IN ('open', 'completing') RETURNING *
      ), queued AS (
        INSERT INTO notifications (id, session_id, type, occurred_at, next_attempt_at)
        SELECT id || '.' || state, id, state, \(now), \(now) FROM closed WHERE \(notify)
        ON CONFLICT (id) DO NOTHING
      )
      SELECT * FROM closed
      """).first.map(Self.session(from:))
  }

  public func countsByState() async throws(UploadError) -> [SessionState: Int] {
    var counts: [SessionState: Int] = [:]
    for row in try await rows("SELECT state, COUNT(*) AS n FROM sessions GROUP BY state") {
      let cells = row.makeRandomAccess()
      if let state = SessionState(rawValue: try Self.decode(cells, "state", as: String.self)) {
        counts[state] = try Self.decode(cells, "n", as: Int.self)
      }
    }
    return counts
  }

  public func update(_ session: SessionRecord, notify: Bool) async throws(UploadError) {
    _ = try await rows("""
      WITH queued AS (
        INSERT INTO notifications (id, session_id, type, occurred_at, next_attempt_at)
        SELECT \(NotificationOutbox.eventID(session.id, session.state)), \(session.id.rawValue),
          \(session.state.rawValue), \(session.updatedAt), \(session.updatedAt) WHERE \(notify)
        ON CONFLICT (id) DO NOTHING
      )
      UPDATE sessions SET storage_upload_id = \(session.storageUploadID), state = \(session.state.rawValue),
        sha256 = \(session.sha256?.hex), verified_sha256 = \(session.verifiedSHA256?.hex), etag = \(session.etag),
        location = \(session.location),
        updated_at = \(session.updatedAt), expires_at = \(session.expiresAt), abort_pending = \(session.abortPending)
      WHERE id = \(session.id.rawValue)
      """)
  }

  // MARK: - Parts

  public func claim(_ id: SessionID, number: Int, size: Int64, now: Int64) async throws(UploadError) -> PartRecord {
    let claimed = try await rows("""
      INSERT INTO parts (session_id, number, size, received_bytes, state, updated_at, generation, holder_node)
      SELECT \(id.rawValue), \(number), \(size), 0, 'receiving', \(now), 1, \(node) FROM sessions
      WHERE id = \(id.rawValue) AND (NOT size_known OR part_count >= \(number))
      ON CONFLICT (session_id, number) DO UPDATE SET generation = parts.generation + 1,
        received_bytes = CASE WHEN parts.state = 'receiving' AND parts.holder_node IS DISTINCT FROM excluded.holder_node
          THEN 0 ELSE parts.received_bytes END,
        holder_node = CASE WHEN parts.state = 'receiving' THEN excluded.holder_node ELSE parts.holder_node END
      RETURNING *
      """)
    guard let row = claimed.first else {
      throw UploadError(.invalidRequest, "session \(id) has no part \(number): the object ended before it")
    }
    return try Self.part(from: row)
  }

  public func update(_ part: PartRecord, sessionUpdatedAt: Int64, expiresAt: Int64, endingObject: Int64?)
    async throws(UploadError)
  {
    let id = part.sessionID.rawValue
    let generation = Int64(part.generation)
    try await transaction { connection in
      let updated = try await connection.query(
        """
        UPDATE parts SET size = \(part.size), received_bytes = \(part.receivedBytes),
          expected_sha256 = \(part.expectedSHA256?.hex), sha256 = \(part.sha256?.hex), etag = \(part.etag),
          state = \(part.state.rawValue), updated_at = \(part.updatedAt)
        WHERE session_id = \(id) AND number = \(part.number) AND generation = \(generation)
        RETURNING number
        """, logger: self.logger
      ).collect()
      guard !updated.isEmpty else {
        throw UploadError(
          .partTakenOver, "part \(part.number) of session \(part.sessionID) was taken over by a newer stream")
      }
      if let size = endingObject {
        let later = try await connection.query(
          "SELECT MIN(number) AS n FROM parts WHERE session_id = \(id) AND number > \(part.number) AND received_bytes > 0",
          logger: self.logger
        ).collect()
        if let number = try Self.decode(later.first, "n", as: Int?.self).flatMap({ $0 }) {
          throw UploadError(
            .invalidRequest,
            "part \(part.number) of session \(part.sessionID) cannot end the object: part \(number) already holds bytes")
        }
        let partCount = size == 0 ? 0 : part.number
        try await connection.query("DELETE FROM parts WHERE session_id = \(id) AND number > \(partCount)", logger: self.logger)
        try await connection.query(
          "UPDATE sessions SET size = \(size), part_count = \(partCount), size_known = TRUE WHERE id = \(id) AND NOT size_known",
          logger: self.logger)
      }
      try await connection.query(
        """
        UPDATE sessions SET updated_at = \(sessionUpdatedAt), expires_at = \(expiresAt)
        WHERE id = \(id) AND state IN ('open', 'completing')
        """, logger: self.logger)
    }
  }

  public func commit(_ id: SessionID, number: Int, etag: String, now: Int64) async throws(UploadError) -> PartRecord? {
    let committed = try await rows("""
      UPDATE parts SET state = 'committed', etag = \(etag), updated_at = \(now)
      WHERE session_id = \(id.rawValue) AND number = \(number) AND state = 'received'
      RETURNING *
      """)
    if let row = committed.first { return try Self.part(from: row) }
    return try await part(of: id, number: number)
  }

  public func reset(_ part: PartRecord, to receivedBytes: Int64) async throws(UploadError) {
    _ = try await rows("""
      UPDATE parts SET received_bytes = \(receivedBytes),
        expected_sha256 = CASE WHEN \(receivedBytes) = 0 THEN NULL ELSE expected_sha256 END,
        sha256 = NULL, etag = NULL, state = 'receiving', generation = generation + 1,
        holder_node = CASE WHEN \(receivedBytes) > 0 THEN \(node) ELSE holder_node END
      WHERE session_id = \(part.sessionID.rawValue) AND number = \(part.number)
      """)
  }
}
