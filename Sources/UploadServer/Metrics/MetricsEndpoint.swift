import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// Serves `GET /metrics` (Prometheus text format) on its own port, so scraping never competes
/// with uploads for the gRPC listener.
struct MetricsEndpoint: Sendable {
  let host: String
  let port: Int
  let registry: PrometheusCollectorRegistry

  /// Binds, logs the address, and serves until the task is cancelled.
  func run(logger: Logger) async throws {
    let registry = registry
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline()
          try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(registry: registry))
        }
      }
      .bind(host: host, port: port).get()
    let bound = channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? "\(host):\(port)"
    logger.notice("metrics on http://\(bound)/metrics")
    try await withTaskCancellationHandler {
      try await channel.closeFuture.get()
    } onCancel: {
      channel.close(promise: nil)
    }
  }
}

/// Answers `GET /metrics` with the registry; anything else with 404.
private final class MetricsHTTPHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  private let registry: PrometheusCollectorRegistry
  private var path: String?

  init(registry: PrometheusCollectorRegistry) {
    self.registry = registry
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head):
      path = head.method == .GET ? head.uri : nil
    case .body:
      break
    case .end:
      let found = path == "/metrics"
      let body = found ? registry.emitToBuffer() : Array("not found: try /metrics\n".utf8)
      var headers = HTTPHeaders()
      headers.add(name: "content-type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain")
      headers.add(name: "content-length", value: String(body.count))
      let head = HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers)
      context.write(wrapOutboundOut(.head(head)), promise: nil)
      context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
      context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
      path = nil
    }
  }
}
