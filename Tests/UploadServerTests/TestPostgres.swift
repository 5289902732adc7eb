import Foundation
import Logging
import PostgresNIO
import UploadCore
import UploadServer

/// The PostgreSQL server of the test run (a throwaway cluster started by scripts/test.sh).
///
/// When `UPLOADER_TEST_POSTGRES_REQUIRED` or `CI` is set, a missing server is a failure, never a
/// skip.
enum TestPostgres {
  static let environment = ProcessInfo.processInfo.environment

  /// Whether the PostgreSQL tests run: a server is configured, or one is required.
  static var enabled: Bool {
    environment["UPLOADER_TEST_POSTGRES_URL"] != nil || environment["UPLOADER_TEST_POSTGRES_REQUIRED"] != nil
      || environment["CI"] == "true"
  }

  struct Failed: Error, CustomStringConvertible {
    var description: String
  }

  struct Missing: Error, CustomStringConvertible {
    var description: String { "no test PostgreSQL: UPLOADER_TEST_POSTGRES_URL is not set (run scripts/test.sh)" }
  }

  /// The address of a new, empty schema, so each test has its own tables.
  static func freshSchema() async throws -> PostgresURL {
    guard let text = environment["UPLOADER_TEST_POSTGRES_URL"] else { throw Missing() }
    let url = try PostgresURL(text)
    let schema = "test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
    let client = PostgresClient(configuration: url.configurationForTests)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await client.run() }
      defer { group.cancelAll() }
      do {
        try await client.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"))
      } catch {
        throw Failed(description: "cannot create schema \(schema) at \(url): \(String(reflecting: error))")
      }
    }
    return try PostgresURL(text + (text.contains("?") ? "&" : "?") + "search_path=\(schema)")
  }

  /// How long a test store's call may wait: every test of a run starts at once on 2 cores, each
  /// migrating its own schema in a freshly made cluster, and a migration then took more than the
  /// server's 5 s. The tests of the timeout itself set their own.
  static let timeout: Duration = .seconds(30)

  /// A store on a fresh schema, or on `url` for a second node on the same tables.
  static func store(node: String = "node-a", url: PostgresURL? = nil) async throws -> (SQLSessionStore, PostgresURL) {
    let url = if let url { url } else { try await freshSchema() }
    return (try await SQLSessionStore.postgres(url: url, node: node, timeout: timeout, logger: Logger(label: "test")), url)
  }
}

extension PostgresURL {
  var configurationForTests: PostgresClient.Configuration {
    PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: .disable)
  }
}
