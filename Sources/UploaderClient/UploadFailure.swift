import GRPCCore
import UploadCore
import UploadProtocol

/// How the upload engines (`UploadEngine`, `StreamUploadEngine`) and the CLI tell failures
/// apart: the transport's from the server's, those worth another attempt from those that end the
/// upload, and what each says to people.
public enum UploadFailure {
  /// Whether `error` is the transport's: no connection, not an answer from the server.
  static func isUnreachable(_ error: any Error) -> Bool {
    guard let error = error as? RPCError else { return false }
    return error.code == .unavailable && error.metadata[stringValues: ErrorMetadata.code].first(where: { _ in true }) == nil
  }

  /// `error` in words for people, without the names of codes (`--json` keeps those): what the
  /// server said, or what failed on the way to it, and what to check.
  public static func describe(_ error: any Error) -> String {
    guard let error = error as? RPCError else {
      return (error as? ClientError)?.message ?? "\(error)"
    }
    if isUnreachable(error) {
      let text = "\(error.message) \(error.cause.map { "\($0)" } ?? "")".lowercased()
      if text.contains("certificate") || text.contains("tls") || text.contains("ssl") || text.contains("handshake") {
        return "the TLS handshake failed (\(error.cause.map { "\($0)" } ?? error.message)); check --ca-cert, and --client-cert and --client-key where the server requires them"
      }
      return "nothing answered; check that uploader-server runs there, that --server names it, and --tls if it serves TLS"
    }
    switch error.code {
    case .unauthenticated: return "\(error.message); check --token (or UPLOADER_TOKEN)"
    case .permissionDenied: return "\(error.message); the token does not allow it"
    case .deadlineExceeded: return "no answer in time: \(error.message)"
    case .dataLoss: return "the bytes did not arrive intact: \(error.message)"
    case .resourceExhausted: return "the server is out of room: \(error.message)"
    case .cancelled: return "the call was cancelled: \(error.message)"
    default: return error.message
    }
  }

  /// Why retrying may help, or nil for a permanent failure.
  static func transientReason(_ error: any Error) -> String? {
    guard let error = error as? RPCError else {
      return error is ClientError || error is CancellationError ? nil : "\(error)"
    }
    let code = error.metadata[stringValues: ErrorMetadata.code].first(where: { _ in true })
      .flatMap(UploadError.Code.init(rawValue:))
    switch error.code {
    case .unavailable where isUnreachable(error):
      // From the transport, not from our server: its message is about channels and sockets.
      return "the connection to the server was lost or refused"
    case .unavailable, .deadlineExceeded, .aborted, .resourceExhausted, .cancelled, .unknown, .dataLoss:
      return describe(error)
    case .failedPrecondition where code == .offsetGap || code == .partsMissing:
      return describe(error)
    case .internalError where code == nil:
      // Not our server's answer (it always names its error code) but the transport's: a proxy
      // or load balancer ended the stream when the replica behind it died.
      return "the stream broke in transit (\(error.message))"
    default:
      return nil
    }
  }

  /// The error to stop with, recorded in the journal when it says what became of the upload;
  /// an upload the server refused before it had a session is forgotten.
  static func permanent(_ error: any Error, _ id: String, journal: Journal, at time: Int64) async throws -> any Error {
    let stop =
      switch error {
      case let error as ClientError: error
      case let error as RPCError: ClientError("the server refused: \(describe(error))")
      default: ClientError(describe(error))
      }
    if error is RPCError, try await journal.upload(id)?.sessionID == nil {
      // The server refused the upload outright: there is nothing to resume, so nothing to keep.
      try await journal.delete(id)
      return ClientError(stop.message, journalState: nil)
    }
    if let state = stop.journalState {
      try await journal.finish(id, state: state, error: stop.message, at: time)
    }
    return stop
  }

  /// Whether an `UploadObject` call failed because the file has to go as a session: the server
  /// has no such call (UNIMPLEMENTED), something on the way refused the message's size
  /// (RESOURCE_EXHAUSTED without our error code: a proxy's limit; our server's own transport
  /// drops such a call instead, which `UploadEngine.sendWhole` handles), or the idempotency key
  /// names a session begun with CreateSession (SESSION_IN_PROGRESS).
  static func needsSession(_ error: RPCError) -> Bool {
    let code = error.metadata[stringValues: ErrorMetadata.code].first(where: { _ in true })
    switch error.code {
    case .unimplemented: return true
    case .resourceExhausted: return code == nil
    case .failedPrecondition: return code == UploadError.Code.sessionInProgress.rawValue
    default: return false
    }
  }

  /// Whether the server found bytes that do not hash to the digest declared with them.
  static func isDigestMismatch(_ error: any Error) -> Bool {
    guard let error = error as? RPCError, error.code == .dataLoss else { return false }
    return error.metadata[stringValues: ErrorMetadata.code].first(where: { _ in true }) == UploadError.Code.digestMismatch.rawValue
  }
}
