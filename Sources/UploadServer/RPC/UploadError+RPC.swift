import GRPCCore
import UploadCore

/// The one place where domain error codes become gRPC status codes.
extension UploadError: RPCErrorConvertible {
  public var rpcErrorCode: RPCError.Code {
    switch code {
    case .invalidKey, .invalidRequest: .invalidArgument
    case .sessionNotFound, .objectMissing: .notFound
    case .sessionClosed, .offsetGap, .partsMissing, .idempotencyConflict, .sessionInProgress: .failedPrecondition
    case .partTakenOver: .aborted
    case .objectTooLarge: .outOfRange
    case .digestMismatch: .dataLoss
    case .spoolFull, .tooManySessions, .tooManyStreams: .resourceExhausted
    case .unauthenticated: .unauthenticated
    case .idleTimeout: .deadlineExceeded
    case .storageUnavailable, .databaseUnavailable, .draining: .unavailable
    case .storageRejected: .failedPrecondition
    case .cancelled: .cancelled
    case .internal: .internalError
    }
  }

  public var rpcErrorMessage: String { message }

  /// The stable code travels as `uploader-error-code` metadata, for clients that branch on it,
  /// and a gap's offset as `uploader-expected-offset`.
  public var rpcErrorMetadata: Metadata {
    var metadata: Metadata = [ErrorMetadata.code: .string(code.rawValue)]
    if let expectedOffset { metadata.addString(String(expectedOffset), forKey: ErrorMetadata.expectedOffset) }
    return metadata
  }
}

extension UploadError {
  /// What a failure to read the next request message means for the client: a message that does
  /// not decode is INVALID_ARGUMENT; anything else (reset, disconnect) means the client went away.
  static func fromRequestStream(_ error: any Error) -> UploadError {
    switch error {
    case let error as UploadError:
      return error
    case let error as RPCError where error.code == .invalidArgument:
      let cause = error.cause.map { " (\($0))" } ?? ""
      return UploadError(.invalidRequest, "a request message is malformed: \(error.message)\(cause)")
    default:
      return UploadError(.cancelled, "the request stream ended abnormally: \(error)")
    }
  }
}
