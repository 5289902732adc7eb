import GRPCCore
import UploadCore

/// The one place where domain error codes become gRPC status codes.
extension UploadError: RPCErrorConvertible {
  public var rpcErrorCode: RPCError.Code {
    switch code {
    case .invalidKey, .invalidRequest: .invalidArgument
    case .objectTooLarge: .outOfRange
    case .digestMismatch: .dataLoss
    case .spoolFull: .resourceExhausted
    case .storageUnavailable: .unavailable
    case .storageRejected: .failedPrecondition
    case .cancelled: .cancelled
    case .internal: .internalError
    }
  }

  public var rpcErrorMessage: String { message }

  /// The stable code travels as `uploader-error-code` metadata, for clients that branch on it.
  public var rpcErrorMetadata: Metadata { ["uploader-error-code": .string(code.rawValue)] }
}
