import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// Serves `GET /metrics` (Prometheus text format) and `GET /healthz` (200 `SERVING`, or 503
/// `NOT_SERVING` while draining or while the database or the object store fails, for load
/// balancers that check over HTTP) on its own port, so scraping never competes with uploads
/// for the gRPC listener.
struct MetricsEndpoint: Sendable {
  let host: String
  let port: Int
  let registry: PrometheusCollectorRegistry
  let health: HealthStatus

  /// Binds, logs the address, and serves until the task is cancelled.
  func run(logger: Logger) async throws {
    let (registry, health) = (registry, health)
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline()
          try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(registry: registry, health: health))
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

/// Answers `GET /metrics` with the registry, `GET /healthz` with the health status; anything
/// else with 404.
private final class MetricsHTTPHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  private let registry: PrometheusCollectorRegistry
  private let health: HealthStatus
  private var path: String?

  init(registry: PrometheusCollectorRegistry, health: HealthStatus) {
    self.registry = registry
    self.health = health
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head):
      path = head.method == .GET ? head.uri : nil
    case .body:
      break
    case .end:
      let status: HTTPResponseStatus
      let body: [UInt8]
      var headers = HTTPHeaders()
      switch path {
      case "/metrics":
        (status, body) = (.ok, registry.emitToBuffer())
        headers.add(name: "content-type", value: "text/plain; version=0.0.4; charset=utf-8")
      case "/healthz":
        let serving = health.status == .serving
        (status, body) = (serving ? .ok : .serviceUnavailable, Array((serving ? "SERVING\n" : "NOT_SERVING\n").utf8))
        headers.add(name: "content-type", value: "text/plain")
      default:
        (status, body) = (.notFound, Array("not found: try /metrics or /healthz\n".utf8))
        headers.add(name: "content-type", value: "text/plain")
      }
      headers.add(name: "content-length", value: String(body.count))
      let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
      context.write(wrapOutboundOut(.head(head)), promise: nil)
      context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
      context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
      path = nil
    }
  }
}
