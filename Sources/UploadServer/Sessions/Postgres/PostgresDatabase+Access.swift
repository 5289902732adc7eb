import Foundation
import Logging
import PostgresNIO
import _ConnectionPoolModule
import UploadCore

/// Every query goes through here: a deadline per call, retries where PostgreSQL asks for them,
/// and PostgreSQL's errors translated into `UploadError`.
extension PostgresDatabase {
  /// Runs `body` within `timeout`, again when the database asks for it (a serialization
  /// failure or a deadlock), and translates what it throws.
  func attempt<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws(UploadError) -> T {
    var tries = 0
    while true {
      tries += 1
      do {
        return try await Deadline.run(timeout, body)
      } catch {
        let translated = Self.translate(error)
        if translated.retry && tries < 5 {
          try? await Task.sleep(for: .milliseconds(10 * tries))
          continue
        }
        throw translated.error
      }
    }
  }

  /// PostgreSQL's errors in `UploadError`'s terms, and whether the call may run again.
  public static func translate(_ error: any Error) -> (error: UploadError, retry: Bool) {
    switch error {
    case let error as UploadError:
      return (error, false)
    case let error as PostgresTransactionError:
      if let cause = error.closureError ?? error.commitError ?? error.beginError { return translate(cause) }
      return (UploadError(.internal, "session database: \(error)"), false)
    case is DeadlinePassed:
      return (UploadError(.databaseUnavailable, "the session database did not answer in time; try again"), false)
    case let error as PSQLError:
      if let state = error.serverInfo?[.sqlState] {
        let message = error.serverInfo?[.message] ?? "\(error)"
        switch state {
        case "40001", "40P01": return (UploadError(.databaseUnavailable, "session database: \(message)"), true)
        // Two replicas creating the migrations table at once.
        case "23505", "42P07": return (UploadError(.internal, "session database: \(message)"), true)
        // statement_timeout and idle_in_transaction_session_timeout (see `clientConfiguration`).
        case "57014": return (UploadError(.databaseUnavailable, "the session database did not answer in time: \(message)"), false)
        case "25P03":
          return (UploadError(.databaseUnavailable, "the session database ended a transaction left idle (was this server paused?): \(message)"), false)
        case "53100":
          return (UploadError(.databaseUnavailable, "the session database is out of disk space; try again once it has room: \(message)"), false)
        case let state where state.hasPrefix("08") || state.hasPrefix("57P"):
          return (UploadError(.databaseUnavailable, "the session database is unavailable: \(message)"), false)
        default: return (UploadError(.internal, "session database (SQLSTATE \(state)): \(message)"), false)
        }
      }
      return (UploadError(.databaseUnavailable, "the session database is unreachable: \(error.code)"), false)
    case let error as ConnectionPoolError:
      // The pool gave up connecting (its circuit breaker tripped) or was shut down.
      return (UploadError(.databaseUnavailable, "the session database is unreachable (\(error))"), false)
    case is CancellationError:
      return (UploadError(.cancelled, "the database call was cancelled"), false)
    default:
      return (UploadError(.internal, "session database: \(error)"), false)
    }
  }
}
