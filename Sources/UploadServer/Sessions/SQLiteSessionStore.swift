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

  /// Opens (creating if needed) the database at `path` and applies the migrations.
  public static func open(path: String) throws(UploadError) -> SQLiteSessionStore {
    do {
      var configuration = Configuration()
      configuration.prepareDatabase { db in
        try db.execute(sql: "PRAGMA synchronous = NORMAL")
      }
      return try SQLiteSessionStore(database: DatabasePool(path: path, configuration: configuration))
    } catch let error as UploadError {
      throw error
    } catch {
      throw UploadError(.internal, "cannot open the session database \(path): \(error)")
    }
  }

  /// A store over `database`, migrated (tests use an in-memory `DatabaseQueue`).
  public init(database: any DatabaseWriter) throws(UploadError) {
    do {
      try ServerSchema.migrator.migrate(database)
    } catch {
      throw UploadError(.internal, "cannot migrate the session database: \(error)")
    }
    self.database = database
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
            updated_at, expires_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """, arguments: Self.arguments(session))
      let statement = try db.makeStatement(
        sql: "INSERT INTO parts (session_id, number, size, received_bytes, state, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
      for part in parts {
        try statement.execute(arguments: [
          part.sessionID.rawValue, part.number, part.size, part.receivedBytes, part.state.rawValue, part.updatedAt,
        ])
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
    try await read { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT parts.session_id, parts.number FROM parts JOIN sessions ON sessions.id = parts.session_id
          WHERE parts.state = 'received' AND sessions.state IN ('open', 'completing')
          ORDER BY parts.session_id, parts.number
          """)
      var numbers: [String: [Int]] = [:]
      for row in rows { numbers[row["session_id"], default: []].append(row["number"]) }
      return try numbers.keys.sorted().compactMap { id in
        try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE id = ?", arguments: [id])
          .map { (try Self.session(from: $0), numbers[id] ?? []) }
      }
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

  public func update(_ session: SessionRecord) async throws(UploadError) {
    try await write { db in
      try db.execute(
        sql: """
          UPDATE sessions SET storage_upload_id = ?, state = ?, sha256 = ?, etag = ?, location = ?,
            updated_at = ?, expires_at = ? WHERE id = ?
          """,
        arguments: [
          session.storageUploadID, session.state.rawValue, session.sha256?.hex, session.etag, session.location,
          session.updatedAt, session.expiresAt, session.id.rawValue,
        ])
    }
  }

  public func update(_ part: PartRecord, sessionUpdatedAt: Int64, expiresAt: Int64) async throws(UploadError) {
    try await write { db in
      try db.execute(
        sql: """
          UPDATE parts SET received_bytes = ?, expected_sha256 = ?, sha256 = ?, etag = ?, state = ?,
            updated_at = ? WHERE session_id = ? AND number = ?
          """,
        arguments: [
          part.receivedBytes, part.expectedSHA256?.hex, part.sha256?.hex, part.etag, part.state.rawValue,
          part.updatedAt, part.sessionID.rawValue, part.number,
        ])
      try db.execute(
        sql: "UPDATE sessions SET updated_at = ?, expires_at = ? WHERE id = ? AND state IN ('open', 'completing')",
        arguments: [sessionUpdatedAt, expiresAt, part.sessionID.rawValue])
    }
  }

  // MARK: - Rows

  private static func arguments(_ s: SessionRecord) -> StatementArguments {
    let metadata = (try? JSONSerialization.data(withJSONObject: s.metadata, options: [.sortedKeys]))
      .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    return [
      s.id.rawValue, s.owner, s.idempotencyKey, s.key.rawValue, s.plan.size, s.plan.partSize, s.plan.partCount,
      s.contentType, metadata, s.storageUploadID, s.state.rawValue, s.sha256?.hex, s.etag, s.location,
      s.createdAt, s.updatedAt, s.expiresAt,
    ]
  }

  private static func session(from row: Row) throws -> SessionRecord {
    let metadataText: String = row["metadata"]
    let metadata = (try? JSONSerialization.jsonObject(with: Data(metadataText.utf8))) as? [String: String] ?? [:]
    let stateName: String = row["state"]
    guard let state = SessionState(rawValue: stateName) else {
      throw UploadError(.internal, "session \(row["id"] as String) has an unknown state \"\(stateName)\"")
    }
    return SessionRecord(
      id: SessionID(unchecked: row["id"]), owner: row["owner"], idempotencyKey: row["idempotency_key"],
      key: try ObjectKey(validating: row["object_key"]),
      plan: PartPlan(size: row["size"], partSize: row["part_size"]), contentType: row["content_type"],
      metadata: metadata, storageUploadID: row["storage_upload_id"], state: state,
      sha256: (row["sha256"] as String?).flatMap(ContentHash.init(hex:)), etag: row["etag"],
      location: row["location"], createdAt: row["created_at"], updatedAt: row["updated_at"],
      expiresAt: row["expires_at"])
  }

  private static func part(from row: Row) throws -> PartRecord {
    let stateName: String = row["state"]
    guard let state = PartState(rawValue: stateName) else {
      throw UploadError(.internal, "a part has an unknown state \"\(stateName)\"")
    }
    return PartRecord(
      sessionID: SessionID(unchecked: row["session_id"]), number: row["number"], size: row["size"],
      receivedBytes: row["received_bytes"],
      expectedSHA256: (row["expected_sha256"] as String?).flatMap(ContentHash.init(hex:)),
      sha256: (row["sha256"] as String?).flatMap(ContentHash.init(hex:)), etag: row["etag"], state: state,
      updatedAt: row["updated_at"])
  }

  // MARK: - Access

  private func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(UploadError) -> T {
    do {
      return try await database.read(body)
    } catch {
      throw Self.translate(error)
    }
  }

  private func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(UploadError) -> T {
    do {
      return try await database.write(body)
    } catch {
      throw Self.translate(error)
    }
  }

  private static func translate(_ error: any Error) -> UploadError {
    if let error = error as? UploadError { return error }
    if let error = error as? DatabaseError, error.resultCode == .SQLITE_FULL {
      return UploadError(.spoolFull, "the session database is out of disk space: \(error)")
    }
    return UploadError(.internal, "session database: \(error)")
  }
}
