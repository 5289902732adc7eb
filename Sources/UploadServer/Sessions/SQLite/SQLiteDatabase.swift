import Foundation
import GRDB
import Migrations
import UploadCore

/// The catalogue's statements on SQLite, through GRDB: the embedded default.
///
/// The server uses a `DatabasePool` (WAL: readers never wait for the writer) with
/// `synchronous = NORMAL`: a committed transaction survives a crash of the process, which is
/// what resuming after `kill -9` needs, but the last transactions may be lost on power loss.
/// A part's `received_bytes` is only ever advanced after its spool bytes were fdatasync'd, so
/// the database never claims more than the disk holds.
///
/// SQLite has one writer. A transaction runs its statements one at a time on it, between
/// `BEGIN IMMEDIATE` and `COMMIT`, and holds `writer` meanwhile, so that no other write lands
/// inside it. Those steps go through GRDB's callback API, which a cancelled task cannot
/// interrupt: a transaction that began always commits or rolls back.
public final class SQLiteDatabase: SQLDatabase {
  public var dialect: SQLDialect { .sqlite }
  private let database: any DatabaseWriter
  private let writer = AsyncSemaphore(permits: 1)

  /// Opens (creating if needed) the database at `path` and applies the migrations.
  public static func open(path: String) throws(UploadError) -> SQLiteDatabase {
    do {
      return try SQLiteDatabase(database: DatabasePool(path: path, configuration: configuration()))
    } catch let error as UploadError {
      throw error
    } catch {
      throw UploadError(.internal, "cannot open the session database \(path): \(error)")
    }
  }

  /// An in-memory database, migrated: for tests.
  public static func inMemory() throws(UploadError) -> SQLiteDatabase {
    do {
      return try SQLiteDatabase(database: DatabaseQueue(configuration: configuration()))
    } catch let error as UploadError {
      throw error
    } catch {
      throw UploadError(.internal, "cannot open an in-memory session database: \(error)")
    }
  }

  private static func configuration() -> Configuration {
    var configuration = Configuration()
    configuration.prepareDatabase { db in
      try db.execute(sql: "PRAGMA synchronous = NORMAL")
    }
    // A transaction spans several accesses (see the type's comment).
    configuration.allowsUnsafeTransactions = true
    return configuration
  }

  private init(database: any DatabaseWriter) throws(UploadError) {
    do {
      try ServerSchema.migrator.migrate(database)
    } catch {
      throw UploadError(.internal, "cannot migrate the session database: \(error)")
    }
    self.database = database
  }

  public func read(_ statement: SQLStatement) async throws(UploadError) -> [SQLRow] {
    guard let pool = database as? DatabasePool else { return try await write(statement) }
    do {
      return try await pool.read { db in try Self.rows(db, statement) }
    } catch {
      throw Self.translate(error)
    }
  }

  public func write(_ statement: SQLStatement) async throws(UploadError) -> [SQLRow] {
    try await transaction { run in try await run(statement) }
  }

  public func transaction<T: Sendable>(_ body: @escaping @Sendable (SQLTransaction) async throws -> T)
    async throws(UploadError) -> T
  {
    do {
      try await writer.acquire()
    } catch {
      throw UploadError(.cancelled, "the database call was cancelled")
    }
    defer { writer.release() }
    try await begin()
    do {
      let result = try await body(SQLTransaction { statement in try await self.step { db in try Self.rows(db, statement) } })
      try await step { db in try db.execute(sql: "COMMIT") }
      return result
    } catch {
      try? await step { db in if db.isInsideTransaction { try db.execute(sql: "ROLLBACK") } }
      throw Self.translate(error)
    }
  }

  public func close() {}

  /// Begins a write transaction. Another handle on the same file (another node's, in tests)
  /// may hold its write lock for a moment: wait for it here, by sleeping, rather than in
  /// SQLite's busy handler, which would block one of the few threads every database shares.
  private func begin() async throws(UploadError) {
    var waited = Duration.zero
    while true {
      do {
        try await step { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        return
      } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && waited < Self.busyTimeout {
        try? await Task.sleep(for: .milliseconds(2))
        waited += .milliseconds(2)
      } catch {
        throw Self.translate(error)
      }
    }
  }

  /// How long a transaction waits for another handle's write lock.
  static let busyTimeout = Duration.seconds(5)

  /// Runs `work` on the writer's connection, whether or not the calling task is cancelled.
  private func step<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      database.asyncWriteWithoutTransaction { db in
        continuation.resume(with: Result { try work(db) })
      }
    }
  }

  /// Runs `statement`, prepared once per connection when it `isReused`: compiling the
  /// catalogue's few fixed statements again on every call was a tenth of the server's CPU on a
  /// batch of small files.
  private static func rows(_ db: Database, _ statement: SQLStatement) throws -> [SQLRow] {
    let arguments = StatementArguments(statement.arguments.map(Self.bound))
    let sql = SQLDialect.sqlite.render(statement)
    let prepared = try statement.isReused ? db.cachedStatement(sql: sql) : db.makeStatement(sql: sql)
    return try Row.fetchAll(prepared, arguments: arguments).map { row in
      var values: [String: SQLValue] = [:]
      for (column, value) in row {
        values[column] = switch value.storage {
        case .null: .null
        case .int64(let number): .integer(number)
        case .double(let number): .integer(Int64(number))
        case .string(let text): .text(text)
        case .blob(let data): .text(String(decoding: data, as: UTF8.self))
        }
      }
      return SQLRow(values)
    }
  }

  private static func bound(_ value: SQLValue) -> (any DatabaseValueConvertible)? {
    switch value {
    case .null: nil
    case .integer(let number): number
    case .text(let text): text
    case .boolean(let flag): flag
    }
  }

  /// SQLite's errors in `UploadError`'s terms.
  public static func translate(_ error: any Error) -> UploadError {
    if let error = error as? UploadError { return error }
    if let error = error as? DatabaseError, error.resultCode == .SQLITE_FULL {
      // Not the spool: the database cannot take writes until its disk has room again.
      return UploadError(.databaseUnavailable, "the session database is out of disk space; try again once it has room: \(error)")
    }
    if error is CancellationError { return UploadError(.cancelled, "the database call was cancelled") }
    return UploadError(.internal, "session database: \(error)")
  }
}
