import Logging
import UploadCore

/// Sessions in a SQL database: SQLite on one node (the embedded default), or PostgreSQL shared
/// by replicas. The rules are written once here, over the statements of `SessionCatalogue`;
/// `SQLiteDatabase` and `PostgresDatabase` only run them.
///
/// Nothing depends on locking one database has and the other lacks: part ownership is a
/// conditional update on the part's generation, and each piece of background work is taken with
/// `FOR UPDATE SKIP LOCKED` (SQLite, with one writer at a time, needs no lock) or a conditional
/// state change.
public struct SQLSessionStore: SessionStore {
  /// The database the statements run on.
  public let database: any SQLDatabase
  public let node: String

  /// A store for `node` over `database`, which is migrated already.
  public init(database: any SQLDatabase, node: String) {
    self.database = database
    self.node = node
  }

  /// SQLite at `path`, created and migrated if needed: one node's sessions.
  public static func sqlite(path: String, node: String = "local") throws(UploadError) -> SQLSessionStore {
    SQLSessionStore(database: try SQLiteDatabase.open(path: path), node: node)
  }

  /// SQLite in memory, migrated: for tests.
  public static func inMemory(node: String = "local") throws(UploadError) -> SQLSessionStore {
    SQLSessionStore(database: try SQLiteDatabase.inMemory(), node: node)
  }

  /// PostgreSQL at `url`, migrated, shared with other nodes (see `PostgresDatabase.connect`).
  public static func postgres(url: PostgresURL, node: String, timeout: Duration = .seconds(5), logger: Logger)
    async throws(UploadError) -> SQLSessionStore
  {
    SQLSessionStore(database: try await PostgresDatabase.connect(to: url, timeout: timeout, logger: logger), node: node)
  }

  /// Releases the database's connections.
  public func close() {
    database.close()
  }

  // MARK: - Nodes

  public func ping() async throws(UploadError) {
    _ = try await database.read(SessionCatalogue.ping)
  }

  public func heartbeat(now: Int64) async throws(UploadError) {
    _ = try await database.write(SessionCatalogue.heartbeat(node: node, now: now))
  }

  public func nodes(heartbeatSince time: Int64) async throws(UploadError) -> [String] {
    try await database.read(SessionCatalogue.nodes(heartbeatSince: time)).map { row throws(UploadError) in
      try row.text("id")
    }
  }

  public func resetPartsOfLapsedNodes(lapsedBefore: Int64) async throws(UploadError) -> [PartRecord] {
    try await database.transaction { [node] run in
      let parts = try await run(SessionCatalogue.partsOfLapsedNodes(lapsedBefore: lapsedBefore, node: node))
        .map(SessionRows.part(from:))
      for part in parts { try await run(SessionCatalogue.forget(part)) }
      return parts
    }
  }

  // MARK: - Sessions

  public func create(_ session: SessionRecord, parts: [PartRecord]) async throws(UploadError)
    -> (session: SessionRecord, created: Bool)
  {
    try await database.transaction { run in
      try await Self.insert(session, in: run) {
        var rest = parts[...]
        while !rest.isEmpty {
          let batch = rest.prefix(SessionCatalogue.partsPerInsert)
          try await run(SessionCatalogue.insert(parts: batch, of: session.id, at: session.createdAt))
          rest = rest.dropFirst(batch.count)
        }
      }
    }
  }

  public func insertCompleted(_ objects: [(session: SessionRecord, parts: [PartRecord])], notify: Bool)
    async throws(UploadError) -> [(session: SessionRecord, created: Bool)]
  {
    guard !objects.isEmpty else { return [] }
    return try await database.transaction { run in
      var results: [(session: SessionRecord, created: Bool)] = []
      for (session, parts) in objects {
        results.append(
          try await Self.insert(session, in: run) {
            for part in parts { try await run(SessionCatalogue.insert(committed: part)) }
            if notify {
              try await run(SessionCatalogue.enqueueNotification(session.id, session.state, at: session.updatedAt))
            }
          })
      }
      return results
    }
  }

  /// Inserts `session` within the transaction `run`, then runs `rest`; or returns the session
  /// the owner created earlier with the same idempotency key.
  private static func insert(_ session: SessionRecord, in run: SQLTransaction, then rest: () async throws -> Void)
    async throws -> (session: SessionRecord, created: Bool)
  {
    /// The session the owner created earlier with this idempotency key, if any.
    func existing() async throws -> SessionRecord? {
      guard let key = session.idempotencyKey else { return nil }
      return try await run(SessionCatalogue.session(owner: session.owner, idempotencyKey: key)).first
        .map(SessionRows.session(from:))
    }
    // The insert does nothing where the key is taken: only then is the earlier session read.
    guard try await !run(SessionCatalogue.insert(session)).isEmpty else {
      guard let earlier = try await existing() else {
        throw UploadError(.internal, "session \(session.id) was neither inserted nor found")
      }
      return (earlier, false)
    }
    try await rest()
    return (session, true)
  }

  public func session(_ id: SessionID) async throws(UploadError) -> SessionRecord? {
    try await sessions(SessionCatalogue.session(id)).first
  }

  public func session(owner: String, idempotencyKey: String) async throws(UploadError) -> SessionRecord? {
    try await sessions(SessionCatalogue.session(owner: owner, idempotencyKey: idempotencyKey)).first
  }

  public func sessions(owner: String, idempotencyKeys: [String]) async throws(UploadError) -> [SessionRecord] {
    guard !idempotencyKeys.isEmpty else { return [] }
    return try await sessions(SessionCatalogue.sessions(owner: owner, idempotencyKeys: idempotencyKeys))
  }

  public func sessions(owner: String, after cursor: (createdAt: Int64, id: SessionID)?, limit: Int)
    async throws(UploadError) -> [SessionRecord]
  {
    try await sessions(SessionCatalogue.sessions(owner: owner, after: cursor, limit: limit))
  }

  public func openSessionCount(owner: String) async throws(UploadError) -> Int {
    Int(try await database.read(SessionCatalogue.openSessionCount(owner: owner)).first?.integer("n") ?? 0)
  }

  public func sessions(in states: Set<SessionState>) async throws(UploadError) -> [SessionRecord] {
    guard !states.isEmpty else { return [] }
    return try await sessions(SessionCatalogue.sessions(in: states))
  }

  public func sessionsExpiring(before time: Int64) async throws(UploadError) -> [SessionRecord] {
    try await sessions(SessionCatalogue.sessionsExpiring(before: time))
  }

  public func sessionsWithReceivedParts() async throws(UploadError) -> [(SessionRecord, [Int])] {
    var numbers: [String: [Int]] = [:]
    for row in try await database.read(SessionCatalogue.receivedParts(node: node)) {
      numbers[try row.text("session_id"), default: []].append(Int(try row.integer("number")))
    }
    var found: [(SessionRecord, [Int])] = []
    for id in numbers.keys.sorted() {
      if let session = try await session(SessionID(unchecked: id)) { found.append((session, numbers[id] ?? [])) }
    }
    return found
  }

  public func takePendingAborts(now: Int64, leaseUntil: Int64) async throws(UploadError) -> [SessionRecord] {
    try await sessions(
      SessionCatalogue.takePendingAborts(now: now, leaseUntil: leaseUntil, limit: Self.abortBatch), writing: true
    ).sorted { $0.updatedAt < $1.updatedAt }
  }

  public func finishAbort(_ id: SessionID, done: Bool) async throws(UploadError) {
    _ = try await database.write(SessionCatalogue.finishAbort(id, done: done))
  }

  public func close(_ id: SessionID, as state: SessionState, now: Int64, notify: Bool) async throws(UploadError)
    -> SessionRecord?
  {
    try await database.transaction { run in
      guard let closed = try await run(SessionCatalogue.close(id, as: state, now: now)).first else { return nil }
      if notify { try await run(SessionCatalogue.enqueueNotification(id, state, at: now)) }
      return try SessionRows.session(from: closed)
    }
  }

  public func countsByState() async throws(UploadError) -> [SessionState: Int] {
    var counts: [SessionState: Int] = [:]
    for row in try await database.read(SessionCatalogue.countsByState) {
      if let state = SessionState(rawValue: try row.text("state")) { counts[state] = Int(try row.integer("n")) }
    }
    return counts
  }

  public func update(_ session: SessionRecord, notify: Bool) async throws(UploadError) {
    guard notify else {
      _ = try await database.write(SessionCatalogue.update(session))
      return
    }
    try await database.transaction { run in
      try await run(SessionCatalogue.enqueueNotification(session.id, session.state, at: session.updatedAt))
      try await run(SessionCatalogue.update(session))
    }
  }

  /// The sessions `statement` returns.
  func sessions(_ statement: SQLStatement, writing: Bool = false) async throws(UploadError) -> [SessionRecord] {
    let rows = writing ? try await database.write(statement) : try await database.read(statement)
    return try rows.map(SessionRows.session(from:))
  }
}
