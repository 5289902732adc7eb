import Foundation
import GRDB
import Migrations
import UploadCore

/// The CLI's memory of its uploads, in SQLite (`$UPLOADER_STATE_DIR/journal.sqlite`).
///
/// Each row is written as soon as the fact is known (a session created, a part hashed or
/// acknowledged), so an interrupted `uploader` leaves a journal `uploader resume` can continue
/// from. A digest column holds '' until the digest is known: the file is hashed beside the sends.
///
/// The updates made at the same time share a transaction (`GroupCommit`): a batch of small
/// files records many completions per sync to disk, and each still returns only once its own
/// row is committed.
public struct Journal: Sendable {
  /// One update of the journal's, made in a transaction shared with the updates waiting then.
  private typealias Update = @Sendable (Database) throws -> Void

  private let database: any DatabaseWriter
  private let updates: GroupCommit<Update>

  /// Opens (creating if needed) the journal in `directory`.
  public static func open(directory: String) throws -> Journal {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    // `uploader status` runs while an `uploader upload` writes: WAL lets it read, and a busy
    // timeout makes concurrent writers wait instead of failing with "database is locked".
    var configuration = Configuration()
    configuration.journalMode = .wal
    configuration.busyMode = .timeout(10)
    // Another `uploader` may be creating the same journal right now (see `FileLock`).
    return try FileLock.withExclusiveLock(path: directory + "/journal.lock") {
      try Journal(database: DatabaseQueue(path: directory + "/journal.sqlite", configuration: configuration))
    }
  }

  /// The journal in `directory` if there is one, else nil: for commands that only read, so that
  /// they create nothing.
  public static func openExisting(directory: String) throws -> Journal? {
    guard FileManager.default.fileExists(atPath: directory + "/journal.sqlite") else { return nil }
    return try open(directory: directory)
  }

  /// A journal over `database`, migrated (tests use an in-memory queue).
  public init(database: any DatabaseWriter) throws {
    try JournalSchema.migrator.migrate(database)
    self.database = database
    self.updates = GroupCommit { updates in
      do {
        try await database.write { db in
          for update in updates { try update(db) }
        }
        return updates.map { _ in .success(()) }
      } catch {
        // Made again one by one, so that one that fails fails alone.
        var outcomes: [Result<Void, any Error>] = []
        for update in updates {
          do {
            try await database.write { db in try update(db) }
            outcomes.append(.success(()))
          } catch {
            outcomes.append(.failure(error))
          }
        }
        return outcomes
      }
    }
  }

  /// Makes `update` in a transaction shared with the updates made at the same time.
  private func update(_ update: @escaping Update) async throws {
    try await updates.commit(update)
  }

  /// Records a new upload and its parts.
  public func insert(_ upload: JournalUpload, parts: [JournalPart]) async throws {
    try await insert([(upload, parts)])
  }

  /// Records new uploads and their parts in one transaction: all of them, or none.
  public func insert(_ uploads: [(upload: JournalUpload, parts: [JournalPart])]) async throws {
    try await database.write { db in
      for (upload, parts) in uploads { try Self.insert(upload, parts: parts, into: db) }
    }
  }

  private static func insert(_ upload: JournalUpload, parts: [JournalPart], into db: Database) throws {
    try db.execute(
      sql: """
        INSERT INTO uploads (id, server, session_id, file_path, object_key, size, mtime_ns, inode, part_size,
          state, sha256, error, created_at, finished_at, content_type, metadata, verify, batch_id, sending)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
      arguments: [
        upload.id, upload.server, upload.sessionID, upload.filePath, upload.key, upload.identity.size,
        upload.identity.modificationTimeNanoseconds, Int64(bitPattern: upload.identity.inode), upload.partSize,
        upload.state.rawValue, upload.sha256?.hex ?? "", upload.error, upload.createdAt, upload.finishedAt,
        upload.attributes.contentType, Self.json(upload.attributes.metadata), upload.verify, upload.batchID,
        upload.sending.json,
      ])
    for part in parts {
      try db.execute(
        sql: "INSERT INTO upload_parts (upload_id, number, size, sha256) VALUES (?, ?, ?, ?)",
        arguments: [upload.id, part.number, part.size, part.sha256?.hex ?? ""])
    }
  }

  /// The upload with local id `id`, or the one whose server session id is `id`.
  public func upload(_ id: String) async throws -> JournalUpload? {
    try await database.read { db in
      try Row.fetchOne(db, sql: "SELECT * FROM uploads WHERE id = ? OR session_id = ? LIMIT 1", arguments: [id, id])
        .map(Self.upload(from:))
    }
  }

  /// The uploads of batch `id`, in the order they were recorded.
  public func uploads(inBatch id: String) async throws -> [JournalUpload] {
    try await database.read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM uploads WHERE batch_id = ? ORDER BY rowid", arguments: [id])
        .map(Self.upload(from:))
    }
  }

  /// Every upload, newest first.
  public func uploads() async throws -> [JournalUpload] {
    try await database.read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM uploads ORDER BY created_at DESC, id DESC").map(Self.upload(from:))
    }
  }

  /// The upload's parts, in order.
  public func parts(of id: String) async throws -> [JournalPart] {
    try await database.read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM upload_parts WHERE upload_id = ? ORDER BY number", arguments: [id])
        .map(Self.part(from:))
    }
  }

  /// The parts of every upload, in order, by upload id, in one read: a listing of a
  /// 10,000-file batch asks once, not once per file.
  public func partsByUpload() async throws -> [String: [JournalPart]] {
    try await database.read { db in
      var parts: [String: [JournalPart]] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT * FROM upload_parts ORDER BY upload_id, number") {
        parts[row["upload_id"], default: []].append(Self.part(from: row))
      }
      return parts
    }
  }

  private static func part(from row: Row) -> JournalPart {
    JournalPart(
      number: row["number"], size: row["size"], sha256: ContentHash(hex: row["sha256"]),
      acknowledgedBytes: row["acknowledged_bytes"], committed: row["committed"])
  }

  /// Records part `part`'s SHA-256 (a digest is recorded once; the file must not change).
  public func hashed(_ id: String, part: Int, sha256: ContentHash) async throws {
    try await update { db in
      try db.execute(
        sql: "UPDATE upload_parts SET sha256 = ? WHERE upload_id = ? AND number = ? AND sha256 = ''",
        arguments: [sha256.hex, id, part])
    }
  }

  /// Records the whole file's SHA-256.
  public func hashed(_ id: String, whole sha256: ContentHash) async throws {
    try await update { db in
      try db.execute(sql: "UPDATE uploads SET sha256 = ? WHERE id = ? AND sha256 = ''", arguments: [sha256.hex, id])
    }
  }

  /// Records a part of a stream read from standard input: when the server first acknowledges
  /// some of it, and again with its size and digest once its bytes were all read.
  public func record(_ id: String, part: JournalPart) async throws {
    try await update { db in
      try db.execute(
        sql: """
          INSERT INTO upload_parts (upload_id, number, size, sha256) VALUES (?, ?, ?, ?)
          ON CONFLICT (upload_id, number) DO UPDATE SET
            size = CASE WHEN excluded.sha256 = '' THEN upload_parts.size ELSE excluded.size END,
            sha256 = CASE WHEN excluded.sha256 = '' THEN upload_parts.sha256 ELSE excluded.sha256 END
          """, arguments: [id, part.number, part.size, part.sha256?.hex ?? ""])
    }
  }

  /// Records the size and SHA-256 of a stream read from standard input, once it ended.
  public func streamEnded(_ id: String, size: Int64, sha256: ContentHash) async throws {
    try await update { db in
      try db.execute(sql: "UPDATE uploads SET size = ?, sha256 = ? WHERE id = ?", arguments: [size, sha256.hex, id])
    }
  }

  /// Records the server's session id and moves the upload to `uploading`.
  public func started(_ id: String, sessionID: String) async throws {
    try await update { db in
      try db.execute(
        sql: "UPDATE uploads SET session_id = ?, state = 'uploading' WHERE id = ?", arguments: [sessionID, id])
    }
  }

  /// Records what the server acknowledged of a part.
  public func acknowledged(_ id: String, part: Int, bytes: Int64, committed: Bool) async throws {
    try await update { db in
      try db.execute(
        sql: """
          UPDATE upload_parts SET acknowledged_bytes = MAX(acknowledged_bytes, ?), committed = committed OR ?
          WHERE upload_id = ? AND number = ?
          """, arguments: [bytes, committed, id, part])
    }
  }

  /// Records an upload sent in one exchange (`UploadObject`) completed, with its session, its
  /// SHA-256 and its one part's, in one transaction.
  public func stored(_ id: String, sessionID: String, sha256: ContentHash, at time: Int64) async throws {
    try await update { db in
      try db.execute(
        sql: """
          UPDATE upload_parts SET sha256 = ?, acknowledged_bytes = size, committed = 1
          WHERE upload_id = ? AND number = 1
          """, arguments: [sha256.hex, id])
      try db.execute(
        sql: "UPDATE uploads SET session_id = ?, sha256 = ?, state = 'completed', finished_at = ? WHERE id = ?",
        arguments: [sessionID, sha256.hex, time, id])
    }
  }

  /// Sends the upload to `server` from now on (`uploader resume ID --server`), and the way
  /// `sending` says.
  public func resend(_ id: String, server: String, sending: SendingChoices) async throws {
    try await database.write { db in
      try db.execute(sql: "UPDATE uploads SET server = ?, sending = ? WHERE id = ?", arguments: [server, sending.json, id])
    }
  }

  /// Forgets the upload: its row and its parts. For an upload the server never took
  /// (`uploader forget`, or a create the server refused outright).
  public func delete(_ id: String) async throws {
    try await database.write { db in
      try db.execute(sql: "DELETE FROM upload_parts WHERE upload_id = ?", arguments: [id])
      try db.execute(sql: "DELETE FROM uploads WHERE id = ?", arguments: [id])
    }
  }

  /// Moves the upload to `state`, with an error message for `failed`.
  public func finish(_ id: String, state: JournalUpload.State, error: String? = nil, at time: Int64) async throws {
    try await update { db in
      try db.execute(
        sql: "UPDATE uploads SET state = ?, error = ?, finished_at = ? WHERE id = ?",
        arguments: [state.rawValue, error, state == .uploading ? nil : time, id])
    }
  }

  private static func json(_ metadata: [String: String]) -> String {
    (try? JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) }
      ?? "{}"
  }

  private static func metadata(_ text: String) -> [String: String] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: String] ?? [:]
  }

  private static func upload(from row: Row) -> JournalUpload {
    let inode: Int64 = row["inode"]
    return JournalUpload(
      id: row["id"], server: row["server"], sessionID: row["session_id"], filePath: row["file_path"],
      key: row["object_key"],
      identity: FileIdentity(size: row["size"], modificationTimeNanoseconds: row["mtime_ns"], inode: UInt64(bitPattern: inode)),
      partSize: row["part_size"],
      attributes: ObjectAttributes(contentType: row["content_type"], metadata: metadata(row["metadata"])),
      verify: row["verify"], sending: SendingChoices(json: row["sending"]), batchID: row["batch_id"], state: JournalUpload.State(rawValue: row["state"]) ?? .failed,
      sha256: ContentHash(hex: row["sha256"]), error: row["error"], createdAt: row["created_at"],
      finishedAt: row["finished_at"])
  }
}
