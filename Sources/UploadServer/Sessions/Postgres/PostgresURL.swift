import Foundation
import PostgresNIO
import UploadCore

/// A `postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require&search_path=schema]`
/// address, as `--database` takes it.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
  public var host: String
  public var port: Int
  public var user: String
  public var password: String?
  public var database: String
  /// `disable` (the default), `prefer` or `require`.
  public var tlsMode: String
  /// The schema the tables live in, when not `public` (it must exist).
  public var searchPath: String?

  /// Parses `text`.
  ///
  /// - Throws: `.invalidRequest` saying what is wrong with it.
  public init(_ text: String) throws(UploadError) {
    guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql" else {
      throw UploadError(.invalidRequest, "the database address must look like postgres://user@host:port/database; got \"\(text)\"")
    }
    guard let host = url.host, !host.isEmpty else {
      throw UploadError(.invalidRequest, "the database address \"\(text)\" names no host")
    }
    guard let user = url.user, !user.isEmpty else {
      throw UploadError(.invalidRequest, "the database address \"\(text)\" names no user (postgres://USER@host/database)")
    }
    let database = String(url.path.drop(while: { $0 == "/" }))
    guard !database.isEmpty else {
      throw UploadError(.invalidRequest, "the database address \"\(text)\" names no database (postgres://user@host/DATABASE)")
    }
    let mode = url.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
    guard ["disable", "prefer", "require"].contains(mode) else {
      throw UploadError(.invalidRequest, "sslmode must be disable, prefer or require; got \"\(mode)\"")
    }
    self.host = host
    self.port = url.port ?? 5432
    self.user = user
    self.password = url.password
    self.database = database
    self.tlsMode = mode
    self.searchPath = url.queryItems?.first(where: { $0.name == "search_path" })?.value
  }

  /// The address without its password, for logs.
  public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }

  /// The client configuration for this address.
  var configuration: PostgresClient.Configuration {
    let tls: PostgresClient.Configuration.TLS =
      switch tlsMode {
      case "require": .require(.makeClientConfiguration())
      case "prefer": .prefer(.makeClientConfiguration())
      default: .disable
      }
    var configuration = PostgresClient.Configuration(
      host: host, port: port, username: user, password: password, database: database, tls: tls)
    if let searchPath { configuration.options.additionalStartupParameters = [("search_path", searchPath)] }
    return configuration
  }
}
