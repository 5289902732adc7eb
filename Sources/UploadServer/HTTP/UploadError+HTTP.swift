import NIOHTTP1
import UploadCore

/// The one place where domain error codes become HTTP statuses (the tus door's). tus names
/// some: 404 and 410 for an upload that is gone, 409 for an offset that does not match, 413
/// past the size limit, 460 for a checksum that does not match.
extension UploadError {
  var httpStatus: HTTPResponseStatus {
    switch code {
    case .invalidKey, .invalidRequest, .cancelled: .badRequest
    case .unauthenticated: .unauthorized
    case .sessionNotFound, .objectMissing: .notFound
    case .sessionClosed: .gone
    case .offsetGap, .partTakenOver, .partsMissing, .idempotencyConflict, .sessionInProgress: .conflict
    case .objectTooLarge: .payloadTooLarge
    case .digestMismatch: Self.checksumMismatch
    case .tooManySessions, .tooManyStreams: .tooManyRequests
    case .spoolFull: .insufficientStorage
    case .idleTimeout: .requestTimeout
    case .storageUnavailable, .databaseUnavailable, .draining: .serviceUnavailable
    case .storageRejected: .badGateway
    case .internal: .internalServerError
    }
  }

  /// tus's status for a body whose `Upload-Checksum` does not match.
  static let checksumMismatch = HTTPResponseStatus(statusCode: 460, reasonPhrase: "Checksum Mismatch")

  /// The error as a response: its status, its message as the body, and its stable code in
  /// `Uploader-Error-Code`, as gRPC carries it in metadata.
  var httpResponse: HTTPResponse {
    var response = HTTPResponse.text(httpStatus, message + "\n")
    response.headers.add(name: "uploader-error-code", value: code.rawValue)
    if code == .unauthenticated { response.headers.add(name: "www-authenticate", value: "Bearer") }
    if httpStatus == .tooManyRequests || httpStatus == .serviceUnavailable {
      response.headers.add(name: "retry-after", value: "1")
    }
    return response
  }
}
