import UploadCore

/// What runs the catalogue's statements: SQLite (`SQLiteDatabase`) or PostgreSQL
/// (`PostgresDatabase`). It translates its own errors into `UploadError`.
public protocol SQLDatabase: Sendable {
  /// How this database spells a statement.
  var dialect: SQLDialect { get }

  /// Runs one statement that only reads, and returns its rows.
  func read(_ statement: SQLStatement) async throws(UploadError) -> [SQLRow]

  /// Runs one statement that writes, in a transaction of its own, and returns its rows.
  func write(_ statement: SQLStatement) async throws(UploadError) -> [SQLRow]

  /// Runs `body` in one transaction: all of its statements take effect, or, when it throws,
  /// none. The body may run again when the database asks for it (a serialization failure), so
  /// it does nothing but run statements.
  func transaction<T: Sendable>(_ body: @escaping @Sendable (SQLTransaction) async throws -> T) async throws(UploadError)
    -> T

  /// Releases the connections.
  func close()
}

/// The statements of one transaction (`SQLDatabase.transaction`).
public struct SQLTransaction: Sendable {
  let run: @Sendable (SQLStatement) async throws -> [SQLRow]

  /// Runs `statement` within the transaction and returns its rows.
  @discardableResult
  public func callAsFunction(_ statement: SQLStatement) async throws -> [SQLRow] {
    try await run(statement)
  }
}
