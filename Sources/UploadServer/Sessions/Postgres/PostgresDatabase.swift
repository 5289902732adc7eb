import Foundation
import Logging
import Migrations
import PostgresNIO
import UploadCore

/// The catalogue's statements on PostgreSQL, shared by every replica of the server.
///
/// A transaction that fails with a serialization failure (SQLSTATE 40001) or a deadlock (40P01)
/// is run again. A call that gets no answer within `timeout` fails with `.databaseUnavailable`,
/// so a database outage turns into UNAVAILABLE for clients (which retry) and NOT_SERVING on
/// health, not into calls that hang.
public final class PostgresDatabase: SQLDatabase {
  public var dialect: SQLDialect { .postgres }
  let client: PostgresClient
  private let running: Task<Void, Never>
  let timeout: Duration
  let logger: Logger

  /// Connects to `url`, applies the migrations (once, whichever replica starts first) and
  /// returns the database. Its connection pool runs until `close()`.
  ///
  /// - Parameter timeout: how long one call may wait for the database.
  /// - Throws: `.databaseUnavailable` when the database cannot be reached within `timeout`;
  ///   `.internal` when a migration fails.
  public static func connect(to url: PostgresURL, timeout: Duration = .seconds(5), logger: Logger)
    async throws(UploadError) -> PostgresDatabase
  {
    let client = PostgresClient(configuration: clientConfiguration(url, timeout: timeout), backgroundLogger: logger)
    let database = PostgresDatabase(client: client, timeout: timeout, logger: logger)
    do {
      try await database.migrate()
    } catch {
      database.close()
      throw error.code == .databaseUnavailable
        ? UploadError(.databaseUnavailable, "cannot reach the session database at \(url): \(error.message)") : error
    }
    return database
  }

  /// How the connections are made. PostgreSQL itself bounds each statement by `timeout`, and
  /// ends a connection that stays idle inside a transaction for longer: a replica frozen
  /// between an UPDATE and its COMMIT (SIGSTOP, a paused VM, a long stall) would otherwise keep
  /// the rows it locked from every other replica, so nobody could take over its parts until it
  /// woke.
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

  private init(client: PostgresClient, timeout: Duration, logger: Logger) {
    self.client = client
    self.timeout = timeout
    self.logger = logger
    self.running = Task { await client.run() }
  }

  public func close() {
    running.cancel()
  }

  public func read(_ statement: SQLStatement) async throws(UploadError) -> [SQLRow] {
    try await write(statement)
  }

  public func write(_ statement: SQLStatement) async throws(UploadError) -> [SQLRow] {
    let query = Self.query(statement)
    return try await attempt {
      try await Self.rows(self.client.query(query, logger: self.logger).collect())
    }
  }

  public func transaction<T: Sendable>(_ body: @escaping @Sendable (SQLTransaction) async throws -> T)
    async throws(UploadError) -> T
  {
    try await attempt {
      try await self.client.withTransaction(logger: self.logger) { connection in
        try await body(
          SQLTransaction { statement in
            try await Self.rows(connection.query(Self.query(statement), logger: self.logger).collect())
          })
      }
    }
  }

  // MARK: - Migrations

  private func migrate() async throws(UploadError) {
    try await attempt {
      try await self.client.withTransaction(logger: self.logger) { connection in
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
  }

  // MARK: - Values

  static func query(_ statement: SQLStatement) -> PostgresQuery {
    var bindings = PostgresBindings(capacity: statement.arguments.count)
    for argument in statement.arguments {
      switch argument {
      case .null: bindings.appendNull()
      case .integer(let number): bindings.append(number)
      case .text(let text): bindings.append(text)
      case .boolean(let flag): bindings.append(flag)
      }
    }
    return PostgresQuery(unsafeSQL: SQLDialect.postgres.render(statement), binds: bindings)
  }

  static func rows(_ rows: [PostgresRow]) throws -> [SQLRow] {
    try rows.map { row in
      var values: [String: SQLValue] = [:]
      for cell in row {
        values[cell.columnName] =
          if cell.bytes == nil {
            .null
          } else {
            switch cell.dataType {
            case .bool: .boolean(try cell.decode(Bool.self))
            case .int2, .int4, .int8: .integer(try cell.decode(Int64.self))
            default: .text(try cell.decode(String.self))
            }
          }
      }
      return SQLRow(values)
    }
  }
}
