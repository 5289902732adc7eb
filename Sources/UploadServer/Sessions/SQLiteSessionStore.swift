import Foundation
import GRDB
import Migrations
import UploadCore

/// Sessions in SQLite through GRDB.
///
/// The server uses a `DatabasePool` (WAL: readers never wait for the writer) with
/// `synchronous = NORMAL`: a committed transaction survives a crash of the process, which is
/// what resuming after `kill -9` needs, but the last transactions may be lost on power loss.
/// A part's `received_bytes` is only ever advanced after its spool bytes were fdatasync'd, so
/// the database never claims more than the disk holds.
public struct SQLiteSessionStore: SessionStore {
  private let database: any DatabaseWriter
  public let node: String

  /// Opens (creating if needed) the database at `path` and applies the migrations.
  ///
  /// - Parameter node: the node this handle works for (one server has one).
  public static func open(path: String, node: String = "local") throws(UploadError) -> SQLiteSessionStore {
    do {
      var configuration = Configuration()
      configuration.prepareDatabase { db in
        try db.execute(sql: "PRAGMA synchronous = NORMAL")
      }
      return try SQLiteSessionStore(database: DatabasePool(path: path, configuration: configuration), node: node)
    } catch let error as UploadError {
      throw error
    } catch {
      throw UploadError(.internal, "cannot open the session database \(path): \(error)")
    }
  }

  /// A store over `database`, migrated (tests use an in-memory `DatabaseQueue`).
  public init(database: any DatabaseWriter, node: String = "local") throws(UploadError) {
    self.node = node
    do {
      try ServerSchema.migrator.migrate(database)
    } catch {
      throw UploadError(.internal, "cannot migrate the session database: \(error)")
    }
    self.database = database
  }

  public func ping() async throws(UploadError) {
    _ = try await read { db in try Int.fetchOne(db, sql: "SELECT 1") }
  }

  public func heartbeat(now: Int64) async throws(UploadError) {
    try await write { [node] db in
      try db.execute(
        sql: """
          INSERT INTO nodes (id, started_at, heartbeat_at) VALUES (?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
          """, arguments: [node, now, now])
    }
  }

  public func nodes(heartbeatSince time: Int64) async throws(UploadError) -> [String] {
    try await read { db in
      try String.fetchAll(db, sql: "SELECT id FROM nodes WHERE heartbeat_at >= ? ORDER BY id", arguments: [time])
    }
  }

  public func resetPartsOfLapsedNodes(lapsedBefore: Int64) async throws(UploadError) -> [PartRecord] {
    try await write { [node] db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT * FROM parts WHERE state IN ('receiving', 'received') AND holder_node IN
            (SELECT id FROM nodes WHERE heartbeat_at < ? AND id <> ?)
          """, arguments: [lapsedBefore, node])
      let parts = try rows.map(Self.part(from:))
      for part in parts {
        try db.execute(
          sql: """
            UPDATE parts SET received_bytes = 0, sha256 = NULL, etag = NULL, state = 'receiving',
              generation = generation + 1, holder_node = NULL
            WHERE session_id = ? AND number = ? AND generation = ?
            """, arguments: [part.sessionID.rawValue, part.number, part.generation])
      }
      return parts
    }
  }

  public func create(_ session: SessionRecord, parts: [PartRecord]) async throws(UploadError)
    -> (session: SessionRecord, created: Bool)
  {
    try await write { db in
      if let key = session.idempotencyKey,
        let row = try Row.fetchOne(
          db, sql: "SELECT * FROM sessions WHERE owner = ? AND idempotency_key = ?",
          arguments: [session.owner, key])
      {
        return (try Self.session(from: row), false)
      }
      try db.execute(
        sql: """
          INSERT INTO sessions (id, owner, idempotency_key, object_key, size, part_size, part_count,
            content_type, metadata, storage_upload_id, state, sha256, etag, location, created_at,
            updated_at, expires_at, size_known, parts_per_tier, origin)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """, arguments: Self.arguments(session))
      let statement = try db.makeStatement(
        sql: "INSERT INTO parts (session_id, number, size, received_bytes, state, updated_at) VALUES (?, ?, ?, 0, 'receiving', ?)")
      for part in parts {
        try statement.execute(arguments: [session.id.rawValue, part.number, part.size, session.createdAt])
      }
      return (session, true)
    }
  }

  public func session(_ id: SessionID) async throws(UploadError) -> SessionRecord? {
    try await read { db in
      try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE id = ?", arguments: [id.rawValue])
        .map(Self.session(from:))
    }
  }

  public func session(owner: String, idempotencyKey: String) async throws(UploadError) -> SessionRecord? {
    try await read { db in
      try Row.fetchOne(
        db, sql: "SELECT * FROM sessions WHERE owner = ? AND idempotency_key = ?", arguments: [owner, idempotencyKey]
      ).map(Self.session(from:))
    }
  }

  public func parts(of id: SessionID) async throws(UploadError) -> [PartRecord] {
    try await read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM parts WHERE session_id = ? ORDER BY number", arguments: [id.rawValue])
        .map(Self.part(from:))
    }
  }

  public func part(of id: SessionID, number: Int) async throws(UploadError) -> PartRecord? {
    try await read { db in
      try Row.fetchOne(
        db, sql: "SELECT * FROM parts WHERE session_id = ? AND number = ?", arguments: [id.rawValue, number]
      ).map(Self.part(from:))
    }
  }

  public func sessions(owner: String, after cursor: (createdAt: Int64, id: SessionID)?, limit: Int)
    async throws(UploadError) -> [SessionRecord]
  {
    try await read { db in
      let rows: [Row]
      if let cursor {
        rows = try Row.fetchAll(
          db,
          sql: """
            SELECT * FROM sessions WHERE owner = ? AND (created_at < ? OR (created_at = ? AND id < ?))
            ORDER BY created_at DESC, id DESC LIMIT ?
            """, arguments: [owner, cursor.createdAt, cursor.createdAt, cursor.id.rawValue, limit])
      } else {
        rows = try Row.fetchAll(
          db, sql: "SELECT * FROM sessions WHERE owner = ? ORDER BY created_at DESC, id DESC LIMIT ?",
          arguments: [owner, limit])
      }
      return try rows.map(Self.session(from:))
    }
  }

  public func openSessionCount(owner: String) async throws(UploadError) -> Int {
    try await read { db in
      try Int.fetchOne(
        db, sql: "SELECT COUNT(*) FROM sessions WHERE owner = ? AND state IN ('open', 'completing')", arguments: [owner]
      ) ?? 0
    }
  }

  public func sessions(in states: Set<SessionState>) async throws(UploadError) -> [SessionRecord] {
    let names = states.map(\.rawValue)
    return try await read { db in
      try Row.fetchAll(
        db,
        sql: "SELECT * FROM sessions WHERE state IN (\(names.map { _ in "?" }.joined(separator: ","))) ORDER BY created_at",
        arguments: StatementArguments(names)
      ).map(Self.session(from:))
    }
  }

  public func sessionsExpiring(before time: Int64) async throws(UploadError) -> [SessionRecord] {
    try await read { db in
      try Row.fetchAll(
        db, sql: "SELECT * FROM sessions WHERE state IN ('open', 'completing') AND expires_at <= ? ORDER BY expires_at",
        arguments: [time]
      ).map(Self.session(from:))
    }
  }

  public func sessionsWithReceivedParts() async throws(UploadError) -> [(SessionRecord, [Int])] {
    try await read { [node] db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT parts.session_id, parts.number FROM parts JOIN sessions ON sessions.id = parts.session_id
          WHERE parts.state = 'received' AND sessions.state IN ('open', 'completing')
            AND (parts.holder_node = ? OR parts.holder_node IS NULL)
          ORDER BY parts.session_id, parts.number
          """, arguments: [node])
      var numbers: [String: [Int]] = [:]
      for row in rows { numbers[row["session_id"], default: []].append(row["number"]) }
      return try numbers.keys.sorted().compactMap { id in
        try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE id = ?", arguments: [id])
          .map { (try Self.session(from: $0), numbers[id] ?? []) }
      }
    }
  }

  public func takePendingAborts(now: Int64, leaseUntil: Int64) async throws(UploadError) -> [SessionRecord] {
    try await write { db in
      try Row.fetchAll(
        db,
        sql: """
          UPDATE sessions SET abort_lease_until = ? WHERE id IN (
            SELECT id FROM sessions WHERE abort_pending = 1 AND abort_lease_until <= ?
            ORDER BY updated_at LIMIT \(Self.abortBatch))
          RETURNING *
          """, arguments: [leaseUntil, now]
      ).map(Self.session(from:)).sorted { $0.updatedAt < $1.updatedAt }
    }
  }

  public func finishAbort(_ id: SessionID, done: Bool) async throws(UploadError) {
    try await write { db in
      try db.execute(
        sql: done
          ? "UPDATE sessions SET abort_pending = 0, abort_lease_until = 0 WHERE id = ?"
          : "UPDATE sessions SET abort_lease_until = 0 WHERE id = ?",
        arguments: [id.rawValue])
    }
  }

  public func close(_ id: SessionID, as state: SessionState, now: Int64, notify: Bool) async throws(UploadError)
    -> SessionRecord?
  {
    try await write { db in
      let closed = try Row.fetchOne(
        db,
        sql: """
          UPDATE sessions SET state = ?, updated_at = ?, abort_pending = (storage_upload_id IS NOT NULL),
            abort_lease_until = 0
          WHERE id = ? AND state IN ('open', 'completing') RETURNING *
          """, arguments: [state.rawValue, now, id.rawValue]
      ).map(Self.session(from:))
      if notify, closed != nil { try Self.enqueueNotification(db, id, state, at: now) }
      return closed
    }
  }

  public func countsByState() async throws(UploadError) -> [SessionState: Int] {
    try await read { db in
      var counts: [SessionState: Int] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM sessions GROUP BY state") {
        if let state = SessionState(rawValue: row["state"]) { counts[state] = row["n"] }
      }
      return counts
    }
  }

  public func update(_ session: SessionRecord, notify: Bool) async throws(UploadError) {
    try await write { db in
      if notify { try Self.enqueueNotification(db, session.id, session.state, at: session.updatedAt) }
      try db.execute(
        sql: """
          UPDATE sessions SET storage_upload_id = ?, state = ?, sha256 = ?, verified_sha256 = ?, etag = ?,
            location = ?, updated_at = ?, expires_at = ?, abort_pending = ? WHERE id = ?
          """,
        arguments: [
          session.storageUploadID, session.state.rawValue, session.sha256?.hex, session.verifiedSHA256?.hex,
          session.etag, session.location,
          session.updatedAt, session.expiresAt, session.abortPending, session.id.rawValue,
        ])
    }
  }

  public func claim(_ id: SessionID, number: Int, size: Int64, now: Int64) async throws(UploadError) -> PartRecord {
    try await write { [node] db in
      // A part past the end of a session whose size is fixed gets no row, even from a stream
      // that has not heard of the end yet.
      guard
        let row = try Row.fetchOne(
          db,
          sql: """
            INSERT INTO parts (session_id, number, size, received_bytes, state, updated_at, generation, holder_node)
            SELECT ?, ?, ?, 0, 'receiving', ?, 1, ? FROM sessions
            WHERE id = ? AND (size_known = 0 OR part_count >= ?)
            ON CONFLICT (session_id, number) DO UPDATE SET generation = generation + 1,
              received_bytes = CASE WHEN state = 'receiving' AND holder_node IS NOT excluded.holder_node
                THEN 0 ELSE received_bytes END,
              holder_node = CASE WHEN state = 'receiving' THEN excluded.holder_node ELSE holder_node END
            RETURNING *
            """, arguments: [id.rawValue, number, size, now, node, id.rawValue, number])
      else {
        throw UploadError(.invalidRequest, "session \(id) has no part \(number): the object ended before it")
      }
      return try Self.part(from: row)
    }
  }

  public func update(_ part: PartRecord, sessionUpdatedAt: Int64, expiresAt: Int64, endingObject: Int64?)
    async throws(UploadError)
  {
    try await write { db in
      try db.execute(
        sql: """
          UPDATE parts SET size = ?, received_bytes = ?, expected_sha256 = ?, sha256 = ?, etag = ?, state = ?,
            updated_at = ? WHERE session_id = ? AND number = ? AND generation = ?
          """,
        arguments: [
          part.size, part.receivedBytes, part.expectedSHA256?.hex, part.sha256?.hex, part.etag, part.state.rawValue,
          part.updatedAt, part.sessionID.rawValue, part.number, part.generation,
        ])
      guard db.changesCount == 1 else {
        throw UploadError(
          .partTakenOver, "part \(part.number) of session \(part.sessionID) was taken over by a newer stream")
      }
      if let size = endingObject {
        try Self.endObject(db, part: part, size: size)
      }
      try db.execute(
        sql: "UPDATE sessions SET updated_at = ?, expires_at = ? WHERE id = ? AND state IN ('open', 'completing')",
        arguments: [sessionUpdatedAt, expiresAt, part.sessionID.rawValue])
    }
  }

  /// Fixes the size of a session of unknown size whose final part is `part`.
  private static func endObject(_ db: Database, part: PartRecord, size: Int64) throws {
    let id = part.sessionID.rawValue
    let later = try Int.fetchOne(
      db, sql: "SELECT MIN(number) FROM parts WHERE session_id = ? AND number > ? AND received_bytes > 0",
      arguments: [id, part.number])
    if let later {
      throw UploadError(
        .invalidRequest,
        "part \(part.number) of session \(part.sessionID) cannot end the object: part \(later) already holds bytes")
    }
    let partCount = size == 0 ? 0 : part.number
    try db.execute(sql: "DELETE FROM parts WHERE session_id = ? AND number > ?", arguments: [id, partCount])
    try db.execute(
      sql: "UPDATE sessions SET size = ?, part_count = ?, size_known = 1 WHERE id = ? AND size_known = 0",
      arguments: [size, partCount, id])
  }

  public func commit(_ id: SessionID, number: Int, etag: String, now: Int64) async throws(UploadError) -> PartRecord? {
    try await write { db in
      try db.execute(
        sql: """
          UPDATE parts SET state = 'committed', etag = ?, updated_at = ?
          WHERE session_id = ? AND number = ? AND state = 'received'
          """, arguments: [etag, now, id.rawValue, number])
      return try Row.fetchOne(
        db, sql: "SELECT * FROM parts WHERE session_id = ? AND number = ?", arguments: [id.rawValue, number]
      ).map(Self.part(from:))
    }
  }

  public func reset(_ part: PartRecord, to receivedBytes: Int64) async throws(UploadError) {
    try await write { db in
      try db.execute(
        sql: """
          UPDATE parts SET received_bytes = ?, expected_sha256 = CASE WHEN ? = 0 THEN NULL ELSE expected_sha256 END,
            sha256 = NULL, etag = NULL, state = 'receiving', generation = generation + 1,
            holder_node = CASE WHEN ? > 0 THEN ? ELSE holder_node END
          WHERE session_id = ? AND number = ?
          """, arguments: [receivedBytes, receivedBytes, receivedBytes, node, part.sessionID.rawValue, part.number])
    }
  }

  // MARK: - Access

  func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(UploadError) -> T {
    do {
      return try await database.read(body)
    } catch {
      throw Self.translate(error)
    }
  }

  func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(UploadError) -> T {
    do {
      return try await database.write(body)
    } catch {
      throw Self.translate(error)
    }
  }

  static func translate(_ error: any Error) -> UploadError {
    if let error = error as? UploadError { return error }
    if let error = error as? DatabaseError, error.resultCode == .SQLITE_FULL {
      // Not the spool: the database cannot take writes until its disk has room again.
      return UploadError(.databaseUnavailable, "the session database is out of disk space; try again once it has room: \(error)")
    }
    return UploadError(.internal, "session database: \(error)")
  }
}
