import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTP/1.1 listener for the tus door: each connection is served in its own task, one request
/// at a time, and each request goes to the responder with its body as a stream that the
/// responder reads at its own pace (TCP holds the client back meanwhile; nothing is buffered
/// whole). A connection idle for `idleTimeout` is closed.
struct HTTPListener: Sendable {
  let host: String
  let port: Int
  /// TLS, as for gRPC; nil serves cleartext.
  let tls: NIOSSLContext?
  let idleTimeout: Duration
  let logger: Logger

  typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

  /// Binds, reports the address, and serves until the task is cancelled.
  func run(
    bound: @Sendable (SocketAddress?) -> Void,
    respond: @escaping @Sendable (HTTPRequest) async -> HTTPResponse
  ) async throws {
    let (tls, idleTimeout) = (tls, idleTimeout)
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
      .bind(host: host, port: port) { channel in
        channel.eventLoop.makeCompletedFuture {
          let pipeline = channel.pipeline.syncOperations
          if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
          try pipeline.addHandler(IdleStateHandler(readTimeout: .seconds(max(1, idleTimeout.components.seconds))))
          try pipeline.addHandler(CloseWhenIdle())
          try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
          return try Connection(wrappingChannelSynchronously: channel)
        }
      }
    bound(server.channel.localAddress)
    try await withThrowingDiscardingTaskGroup { group in
      try await server.executeThenClose { connections in
        for try await connection in connections {
          group.addTask { await serve(connection, respond: respond) }
        }
      }
    }
  }

  /// Serves the requests of one connection, in order, until it closes.
  private func serve(_ connection: Connection, respond: @Sendable (HTTPRequest) async -> HTTPResponse) async {
    do {
      try await connection.executeThenClose { inbound, outbound in
        let reader = HTTPRequestReader(inbound.makeAsyncIterator(), outbound: outbound)
        while let head = try await reader.nextHead() {
          let expectsContinue = head.headers.first(name: "expect")?.lowercased() == "100-continue"
          let body = HTTPRequestBody(reader: reader, expectsContinue: expectsContinue)
          // A request without a body has only its end to read: read it now, so the connection can be kept.
          if !head.hasBody { _ = try await body.next() }
          var response = await respond(HTTPRequest(head: head, body: body))
          // A body refused before its end is read and dropped if it is small, so the client sees
          // the answer (closing with bytes unread would reset the connection); a larger one ends
          // the connection instead.
          if !body.isEnded, !response.closesConnection { try await body.discard(upTo: Self.discardableBody) }
          let keepAlive = head.isKeepAlive && body.isEnded && !response.closesConnection
          if !keepAlive { response.headers.replaceOrAdd(name: "connection", value: "close") }
          try await write(response, version: head.version, omitBody: head.method == .HEAD, to: outbound)
          guard keepAlive else { return }
        }
      }
    } catch {
      logger.debug("HTTP connection ended", metadata: ["error": "\(error)"])
    }
  }

  /// The most of a refused body that is read to keep its connection.
  static let discardableBody = 4 << 20

  private func write(
    _ response: HTTPResponse, version: HTTPVersion, omitBody: Bool,
    to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
  ) async throws {
    var headers = response.headers
    let body = response.body ?? ByteBuffer()
    if !headers.contains(name: "content-length"), response.status.mayHaveResponseBody {
      headers.add(name: "content-length", value: String(body.readableBytes))
    }
    try await outbound.write(.head(HTTPResponseHead(version: version, status: response.status, headers: headers)))
    if !omitBody, body.readableBytes > 0 { try await outbound.write(.body(.byteBuffer(body))) }
    try await outbound.write(.end(nil))
  }
}

/// Closes a connection on which nothing was read for the idle timeout (`IdleStateHandler`).
private final class CloseWhenIdle: ChannelInboundHandler, Sendable {
  typealias InboundIn = NIOAny

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
      context.close(promise: nil)
    } else {
      context.fireUserInboundEventTriggered(event)
    }
  }
}

extension HTTPRequestHead {
  /// The declared body length; nil for a chunked body or none.
  var contentLength: Int64? {
    headers.first(name: "content-length").flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
  }

  /// Whether a body follows the head.
  var hasBody: Bool {
    headers.contains(name: "transfer-encoding") || (contentLength ?? 0) > 0
  }
}

extension HTTPResponseStatus {
  /// Whether a response with this status carries a body (and so a length).
  var mayHaveResponseBody: Bool {
    code >= 200 && self != .noContent && self != .notModified
  }
}
