/// An error with a stable machine-readable code and a message for people.
///
/// The code is part of the public contract (it is safe as a metric label and is mapped to a
/// gRPC status in exactly one place, `UploadError+RPC.swift` in the server); the message says
/// what went wrong and, where it helps, what to do next.
public struct UploadError: Error, Hashable, Sendable, CustomStringConvertible {
  /// Stable error codes. Never rename a case: clients and dashboards depend on the raw values.
  public enum Code: String, Sendable, Hashable, CaseIterable {
    /// The object key breaks a key rule.
    case invalidKey = "INVALID_KEY"
    /// A request is malformed (missing field, inconsistent filename, ...).
    case invalidRequest = "INVALID_REQUEST"
    /// Data did not match its SHA-256.
    case digestMismatch = "DIGEST_MISMATCH"
    /// The object is larger than the server accepts.
    case objectTooLarge = "OBJECT_TOO_LARGE"
    /// The staging area has no room.
    case spoolFull = "SPOOL_FULL"
    /// The object store could not be reached or kept failing; trying later may succeed.
    case storageUnavailable = "STORAGE_UNAVAILABLE"
    /// The object store refused the request (credentials, bucket, policy).
    case storageRejected = "STORAGE_REJECTED"
    /// The client went away or cancelled the call.
    case cancelled = "CANCELLED"
    /// A bug or an unexpected local failure (disk I/O, ...).
    case `internal` = "INTERNAL"
  }

  /// The stable code.
  public let code: Code
  /// What happened, for people.
  public let message: String

  /// Creates an error with a code and a message.
  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(message) [\(code.rawValue)]" }
}
