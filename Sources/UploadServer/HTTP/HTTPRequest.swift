import NIOCore
import NIOHTTP1

/// A request as the responder gets it: its head, and its body to read.
struct HTTPRequest {
  let head: HTTPRequestHead
  let body: HTTPRequestBody

  /// The first value of a header, trimmed.
  func header(_ name: String) -> String? {
    head.headers.first(name: name)?.trimmingCharacters(in: .whitespaces)
  }

  /// The path, without the query.
  var path: Substring { head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }

  /// The declared body length; nil for a chunked body or none.
  var contentLength: Int64? { head.contentLength }
}

/// What the responder answers.
struct HTTPResponse {
  var status: HTTPResponseStatus
  var headers: HTTPHeaders
  var body: ByteBuffer?
  /// End the connection after this response.
  var closesConnection = false

  init(_ status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
    self.status = status
    self.headers = headers
    self.body = body
  }

  /// A plain text response.
  static func text(_ status: HTTPResponseStatus, _ text: String, headers: HTTPHeaders = [:]) -> HTTPResponse {
    var response = HTTPResponse(status, headers: headers, body: ByteBuffer(string: text))
    response.headers.replaceOrAdd(name: "content-type", value: "text/plain; charset=utf-8")
    return response
  }
}

/// Reads a connection's request parts: heads, then body parts up to each request's end.
final class HTTPRequestReader {
  private var parts: NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
  let outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
  /// Set while a request's body has not been read to its end.
  fileprivate var inBody = false

  init(
    _ parts: NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
    outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
  ) {
    self.parts = parts
    self.outbound = outbound
  }

  /// The next request's head; nil when the client closed the connection.
  func nextHead() async throws -> HTTPRequestHead? {
    while let part = try await parts.next() {
      if case .head(let head) = part {
        inBody = true
        return head
      }
    }
    return nil
  }

  /// The next piece of the current request's body; nil at its end.
  fileprivate func nextBody() async throws -> ByteBuffer? {
    guard inBody else { return nil }
    while let part = try await parts.next() {
      switch part {
      case .body(let buffer) where buffer.readableBytes > 0: return buffer
      case .body: continue
      case .end:
        inBody = false
        return nil
      case .head:
        throw HTTPBodyError.truncated
      }
    }
    throw HTTPBodyError.truncated
  }
}

/// A request's body, read as it arrives.
final class HTTPRequestBody {
  private let reader: HTTPRequestReader
  private var continueSent: Bool
  private(set) var isEnded = false

  init(reader: HTTPRequestReader, expectsContinue: Bool) {
    self.reader = reader
    self.continueSent = !expectsContinue
  }

  /// Reads and drops the rest of the body, if it is at most `limit` bytes. A client still
  /// waiting for `100 Continue` is not asked for a body only to drop it: the body stays unread,
  /// and the connection ends after the answer.
  func discard(upTo limit: Int) async throws {
    guard continueSent else { return }
    var left = limit
    while left >= 0, let buffer = try await next() {
      left -= buffer.readableBytes
    }
  }

  /// The next piece of the body, or nil at its end.
  ///
  /// - Throws: `HTTPBodyError.truncated` when the connection ends first.
  func next() async throws -> ByteBuffer? {
    guard !isEnded else { return nil }
    if !continueSent {
      continueSent = true
      try await reader.outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .continue)))
    }
    guard let buffer = try await reader.nextBody() else {
      isEnded = true
      return nil
    }
    return buffer
  }
}

/// A request body that ended before its end.
enum HTTPBodyError: Error {
  case truncated
}
