import Logging
import NIOCore
import NIOHTTP1
import UploadCore

/// The tus 1.0 door (https://tus.io/protocols/resumable-upload): a thin adapter over the
/// session engine, like the original contract. A tus upload is a session (origin `tus`): the
/// same limits, metrics, expiry, notifications, `uploader status` and replicas apply.
///
/// - `POST /files/` creates a session (`Upload-Length`, or `Upload-Defer-Length: 1`), named by
///   `Upload-Metadata` (`key`, else `filename`; `filetype` is the content type; other pairs are
///   the object's metadata). A body (creation-with-upload) is appended at once.
/// - `HEAD /files/ID` answers the durable offset: the bytes from the start that are on disk and
///   recorded. A part another replica holds counts only once received whole.
/// - `PATCH /files/ID` appends at `Upload-Offset` (409 when it is not the offset) and answers
///   once the bytes are fdatasynced and recorded. The PATCH that reaches the length completes
///   the object before it answers; an `Upload-Checksum` (sha1 or sha256) is checked before any
///   byte of the body is kept (460).
/// - `DELETE /files/ID` aborts the session (termination); the upload is then 410.
/// - `GET /` is a small upload page.
///
/// Callers authenticate with `Authorization: Bearer TOKEN`, the gRPC tokens; another
/// principal's upload is 404, as over gRPC.
struct TusService: Sendable {
  let sessions: SessionCoordinator
  let receiver: SessionReceiver
  let access: AccessControl
  let streamLimit: StreamLimitInterceptor
  /// Origins whose pages may call (CORS); "*" allows any.
  let allowedOrigins: [String]
  /// "https" with TLS.
  let scheme: String
  let logger: Logger

  static let version = "1.0.0"
  static let extensions =
    "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum"
  /// The collection of uploads, as tusd has it.
  static let root = "/files/"
  /// The largest piece of a body handed to the engine at once.
  static let chunkSize = 1 << 20

  /// Answers one request; never throws (errors become their status).
  func respond(to request: HTTPRequest) async -> HTTPResponse {
    var response: HTTPResponse
    do throws(UploadError) {
      response = try await route(request)
    } catch {
      if error.httpStatus == .internalServerError || error.httpStatus == .serviceUnavailable {
        logger.warning("tus request failed", metadata: ["uri": "\(request.head.uri)", "error": "\(error)"])
      }
      response = error.httpResponse
    }
    response.headers.replaceOrAdd(name: "tus-resumable", value: Self.version)
    if let origin = request.header("origin"), isAllowed(origin: origin) {
      response.headers.add(name: "access-control-allow-origin", value: origin)
      response.headers.add(name: "vary", value: "Origin")
      response.headers.add(name: "access-control-expose-headers", value: Self.exposedHeaders)
    }
    return response
  }

  private func route(_ request: HTTPRequest) async throws(UploadError) -> HTTPResponse {
    let method = request.header("x-http-method-override").map { HTTPMethod(rawValue: $0.uppercased()) }
      ?? request.head.method
    let path = request.path
    if method == .OPTIONS { return options(request) }
    if path == "/" || path == "/index.html" {
      guard method == .GET || method == .HEAD else { return Self.notAllowed("GET") }
      return UploadPage.response
    }
    let id: SessionID?
    if path == Self.root || path == Self.root.dropLast() {
      id = nil
    } else if path.hasPrefix(Self.root) {
      do {
        id = try SessionID(validating: String(path.dropFirst(Self.root.count)))
      } catch {
        throw UploadError(.sessionNotFound, "no upload at \(path)")
      }
    } else {
      return .text(.notFound, "not found: uploads are under \(Self.root), the upload page is /\n")
    }
    guard request.header("tus-resumable") == Self.version else {
      var response = HTTPResponse.text(
        .preconditionFailed, "this server speaks tus \(Self.version); send Tus-Resumable: \(Self.version)\n")
      response.headers.add(name: "tus-version", value: Self.version)
      return response
    }
    let owner = try authenticate(request)
    guard let id else {
      guard method == .POST else { return Self.notAllowed("POST, OPTIONS") }
      return try await create(request, owner: owner)
    }
    switch method {
    case .HEAD: return try await head(id, owner: owner)
    case .PATCH: return try await patch(id, request, owner: owner)
    case .DELETE: return try await terminate(id, owner: owner)
    default: return Self.notAllowed("HEAD, PATCH, DELETE, OPTIONS")
    }
  }

  /// The principal of `Authorization: Bearer TOKEN`, or the anonymous one without tokens.
  private func authenticate(_ request: HTTPRequest) throws(UploadError) -> Principal {
    let header = request.header("authorization")
    var token: String?
    if let header, header.lowercased().hasPrefix("bearer ") {
      token = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
    }
    guard let principal = access.principal(forToken: token) else {
      throw UploadError(
        .unauthenticated,
        header == nil ? "this server needs a token: send Authorization: Bearer TOKEN" : "the token is not accepted")
    }
    return principal
  }

  /// tus discovery, and CORS preflight when the request comes from a browser.
  private func options(_ request: HTTPRequest) -> HTTPResponse {
    var response = HTTPResponse(.noContent)
    response.headers.add(name: "tus-version", value: Self.version)
    response.headers.add(name: "tus-extension", value: Self.extensions)
    response.headers.add(name: "tus-max-size", value: String(sessions.settings.maximumObjectSize))
    response.headers.add(name: "tus-checksum-algorithm", value: TusChecksum.supported)
    if let origin = request.header("origin"), isAllowed(origin: origin),
      request.header("access-control-request-method") != nil
    {
      response.headers.add(name: "access-control-allow-methods", value: "POST, HEAD, PATCH, DELETE, OPTIONS")
      response.headers.add(name: "access-control-allow-headers", value: Self.allowedHeaders)
      response.headers.add(name: "access-control-max-age", value: "86400")
    }
    return response
  }

  private func isAllowed(origin: String) -> Bool {
    allowedOrigins.contains("*") || allowedOrigins.contains(origin)
  }

  private static func notAllowed(_ methods: String) -> HTTPResponse {
    .text(.methodNotAllowed, "method not allowed here; allowed: \(methods)\n", headers: ["allow": methods])
  }

  static let allowedHeaders = [
    "Authorization", "Content-Type", "Tus-Resumable", "Upload-Length", "Upload-Offset", "Upload-Metadata",
    "Upload-Defer-Length", "Upload-Checksum", "Upload-Concat", "X-HTTP-Method-Override", "X-Requested-With",
  ].joined(separator: ", ")

  static let exposedHeaders = [
    "Location", "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm",
    "Upload-Offset", "Upload-Length", "Upload-Metadata", "Upload-Defer-Length", "Upload-Expires",
    "Uploader-Error-Code",
  ].joined(separator: ", ")
}
