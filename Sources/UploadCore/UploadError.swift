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
    /// The session database could not be reached, did not answer in time, or cannot write (its
    /// disk is full); trying later may succeed.
    case databaseUnavailable = "DATABASE_UNAVAILABLE"
    /// The server is shutting down; its streams end at a part boundary so their clients move
    /// to another replica (or to this one once it is back).
    case draining = "DRAINING"
    /// The object store refused the request (credentials, bucket, policy).
    case storageRejected = "STORAGE_REJECTED"
    /// A completed session's object is no longer in the store (deleted after completion), so it
    /// cannot be read back.
    case objectMissing = "OBJECT_MISSING"
    /// No such session (or not one the caller may see).
    case sessionNotFound = "SESSION_NOT_FOUND"
    /// The session no longer accepts this operation (completed, aborted, expired).
    case sessionClosed = "SESSION_CLOSED"
    /// A chunk starts past the received bytes; `expectedOffset` says where to send from.
    case offsetGap = "OFFSET_GAP"
    /// A newer stream took the part over.
    case partTakenOver = "PART_TAKEN_OVER"
    /// CompleteSession found parts that have not been received.
    case partsMissing = "PARTS_MISSING"
    /// An idempotency key was reused for a different object.
    case idempotencyConflict = "IDEMPOTENCY_CONFLICT"
    /// UploadObject named a session that CreateSession started and that is not complete yet:
    /// continue it with UploadParts and CompleteSession.
    case sessionInProgress = "SESSION_IN_PROGRESS"
    /// The call carries no token, or one the server does not know.
    case unauthenticated = "UNAUTHENTICATED"
    /// The caller has as many open sessions as the server allows one principal.
    case tooManySessions = "TOO_MANY_SESSIONS"
    /// The server runs as many upload streams as it allows.
    case tooManyStreams = "TOO_MANY_STREAMS"
    /// The client sent nothing for longer than the server's idle stream timeout.
    case idleTimeout = "IDLE_TIMEOUT"
    /// The client went away or cancelled the call.
    case cancelled = "CANCELLED"
    /// A bug or an unexpected local failure (disk I/O, ...).
    case `internal` = "INTERNAL"
  }

  /// The stable code.
  public let code: Code
  /// What happened, for people.
  public let message: String
  /// For `.offsetGap`: the offset within the part to send from.
  public let expectedOffset: Int64?

  /// Creates an error with a code and a message.
  public init(_ code: Code, _ message: String, expectedOffset: Int64? = nil) {
    self.code = code
    self.message = message
    self.expectedOffset = expectedOffset
  }

  public var description: String { "\(message) [\(code.rawValue)]" }
}
