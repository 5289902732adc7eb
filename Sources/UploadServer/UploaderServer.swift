import AsyncHTTPClient
import GRPCCore
import GRPCNIOTransportHTTP2
import Glibc
import Logging
import NIOCore
import NIOFileSystem
import S3
import ServiceLifecycle
import Synchronization
import UploadCore
import UploadProtocol

/// The upload service, wired from a configuration. Used by the executable and by the tests,
/// so the executable holds no logic the tests cannot reach.
///
/// Run it in a `ServiceGroup`: graceful shutdown stops accepting calls, lets running ones finish,
/// then closes the S3 client.
public final class UploaderServer: Service, Sendable {
  /// The configuration it runs with.
  public let configuration: ServerConfiguration
  /// Where objects go.
  public let store: any ObjectStore
  /// The resumable-session engine: its API.
  public let sessions: SessionCoordinator
  /// The engine's receiving: streams of parts, their shared credit, draining.
  public let receiver: SessionReceiver
  /// The engine's background work: recovery, commits left over, expiry, heartbeat, aborts.
  public let upkeep: SessionUpkeep
  /// What the health service reports.
  public let health = HealthStatus()
  /// The accepted tokens; `reload()` re-reads them.
  public let access: AccessControl
  /// The Prometheus metrics, served at `--metrics-listen`.
  public let metrics: ServerMetrics
  private let metricsEndpoint: MetricsEndpoint?
  /// The tus door and its listener; nil without `httpHost`.
  private let tus: (service: TusService, listener: HTTPListener)?
  private let httpBound = Mutex<(host: String, port: Int)?>(nil)
  private let transport: HTTP2ServerTransport.Posix
  private let server: GRPCServer<HTTP2ServerTransport.Posix>
  /// Admits upload streams, and counts those running (for the drain's log lines).
  /// Admits upload streams; tests read its count.
  let streamLimit: StreamLimitInterceptor
  private let stores: ServerStores
  /// Delivers completion notifications, with its own HTTP client; nil without `--notify-url`.
  private let notifier: (notifier: Notifier, client: HTTPClient)?
  private let logger: Logger

  /// A server on the stores `configuration` names (`ServerConfiguration.makeStores`).
  public convenience init(configuration: ServerConfiguration, logger: Logger) async throws {
    try configuration.validate()
    try await self.init(configuration: configuration, stores: try await configuration.makeStores(logger: logger), logger: logger)
  }

  /// Prepares the spool, checks the object store (so a wrong S3 configuration is reported at
  /// start, not at the first upload) and recovers the sessions a previous run left.
  ///
  /// - Throws: `UploadError` saying which part of the configuration does not work; the stores
  ///   are shut down then.
  public init(configuration: ServerConfiguration, stores: ServerStores, logger: Logger) async throws {
    var notificationClient: HTTPClient?
    do {
      try configuration.validate()
      try await configuration.tls?.check()
      self.configuration = configuration
      self.logger = logger
      self.stores = stores
      let access = try await AccessControl(tokensFile: configuration.tokensFile)
      self.access = access
      let metrics = ServerMetrics()
      self.metrics = metrics
      // Timed inside the bound, so store timings do not include waiting for a turn.
      let store = BoundedObjectStore(
        base: MeasuredObjectStore(base: stores.objects, metrics: metrics),
        maximumConcurrentUploads: configuration.maximumConcurrentPartUploads)
      let health = health
      metricsEndpoint = configuration.metricsHost.map {
        MetricsEndpoint(host: $0, port: configuration.metricsPort, registry: metrics.registry, health: health)
      }
      try await store.checkAvailability()
      let spool = Spool(root: configuration.spoolDirectory, limit: configuration.spoolLimit)
      do {
        try await spool.prepare()
      } catch {
        throw UploadError.fromFileSystem(error, while: "preparing the spool directory \(spool.root)")
      }
      let notifier = configuration.notifications.map { settings in
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        notificationClient = client
        let sessionSettings = configuration.sessions
        return (
          Notifier(
            sessions: stores.sessions, settings: settings,
            deliver: Notifier.http(client, url: settings.url, timeout: settings.timeout), metrics: metrics,
            now: { sessionSettings.nowMilliseconds }, logger: logger),
          client
        )
      }
      self.notifier = notifier
      let sessions = SessionCoordinator(
        store: stores.sessions, objectStore: store, spool: spool, settings: configuration.sessions, metrics: metrics,
        notifier: notifier?.0, logger: logger)
      let receiver = SessionReceiver(sessions: sessions)
      let upkeep = SessionUpkeep(sessions: sessions)
      try await upkeep.recover()
      self.sessions = sessions
      self.upkeep = upkeep
      self.receiver = receiver
      self.store = store
      self.transport = HTTP2ServerTransport.Posix(
        address: .ipv4(host: configuration.host, port: configuration.port),
        transportSecurity: configuration.transportSecurity,
        config: .defaults {
          $0.http2.targetWindowSize = configuration.http2TargetWindowSize
          $0.http2.maxConcurrentStreams = configuration.maximumStreams + 16
          $0.rpc.maxRequestPayloadSize = configuration.maximumMessageSize
          $0.connection.keepalive = .init(
            time: configuration.keepaliveInterval, timeout: configuration.keepaliveInterval,
            clientBehavior: .init(
              minPingIntervalWithoutCalls: ServerConfiguration.minimumClientPingInterval, allowWithoutCalls: true))
          $0.channelDebuggingCallbacks.onAcceptTCPConnection = { [interval = configuration.keepaliveInterval] channel in
            channel.setOption(
              ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: CInt(TCP_USER_TIMEOUT))),
              value: SocketOptionValue(clamping: interval.components.seconds * 1000)
            ).recover { _ in }  // a tuning option: never refuse a connection for it
          }
        })
      let streamLimit = StreamLimitInterceptor(
        limitedMethods: [Uploader_FileUploader.Method.Upload.descriptor, Uploader_V1_ResumableUploads.Method.UploadParts.descriptor],
        maximumStreams: configuration.uploadStreamLimit, limitSource: configuration.uploadStreamLimitSource,
        idleTimeout: configuration.idleStreamTimeout)
      self.streamLimit = streamLimit
      self.tus = try configuration.httpHost.map { host in
        (
          TusService(
            sessions: sessions, receiver: receiver, access: access, streamLimit: streamLimit,
            allowedOrigins: configuration.httpAllowedOrigins, scheme: configuration.tls == nil ? "http" : "https",
            logger: logger),
          HTTPListener(
            host: host, port: configuration.httpPort, tls: try configuration.httpTLSContext(),
            idleTimeout: configuration.idleStreamTimeout, logger: logger)
        )
      }
      self.server = GRPCServer(
        transport: transport,
        services: [
          FileUploaderService(sessions: sessions, receiver: receiver, metrics: metrics, logger: logger),
          ResumableUploadsService(coordinator: sessions, receiver: receiver, metrics: metrics),
          HealthService(health: health),
        ],
        interceptors: [
          AuthenticationInterceptor(access: access, exemptServices: [Grpc_Health_V1_Health.descriptor.fullyQualifiedService]),
          streamLimit,
        ])
    } catch {
      try? await notificationClient?.shutdown()
      await stores.shutdown()
      throw error
    }
  }

  /// Closes what `run` leaves open: the notifier's HTTP client and the stores.
  private func shutdown() async {
    await sessions.shutdown()
    try? await notifier?.client.shutdown()
    await stores.shutdown()
  }

  /// The address the server listens on, once it does.
  public var listeningAddress: (host: String, port: Int) {
    get async throws {
      let address = try await transport.listeningAddress
      if let ipv4 = address.ipv4 { return (ipv4.host, ipv4.port) }
      if let ipv6 = address.ipv6 { return (ipv6.host, ipv6.port) }
      return (configuration.host, configuration.port)
    }
  }

  /// The address of the tus listener, once it listens; nil without one.
  public var httpListeningAddress: (host: String, port: Int)? {
    get async {
      guard tus != nil else { return nil }
      while !Task.isCancelled {
        if let address = httpBound.withLock({ $0 }) { return address }
        try? await Task.sleep(for: .milliseconds(10))
      }
      return nil
    }
  }

  /// Serves until graceful shutdown is triggered or the task is cancelled, then closes the S3
  /// client.
  public func run() async throws {
    do {
      try await serve()
    } catch {
      logDrained()
      await shutdown()
      // Cancelled after the drain timeout: a stop as asked, not a failure.
      if Task.isCancelled { return }
      throw error
    }
    logDrained()
    await shutdown()
  }

  /// After a drain: how many upload streams it cut (their received bytes are durable either way).
  private func logDrained() {
    guard health.isDraining else { return }
    let cut = streamLimit.runningStreams
    logger.notice(
      cut == 0 ? "drained: every upload stream finished or stopped at a part boundary"
        : "drained: \(cut) upload stream\(cut == 1 ? "" : "s") cut at the drain timeout; their received bytes are durable and their clients resume",
      metadata: ["upload_streams_cut": "\(cut)"])
  }

  private func serve() async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await self.upkeep.run() }
      if let notifier = self.notifier?.notifier {
        group.addTask { await notifier.run() }
      }
      group.addTask { await self.probeDependencies() }
      if let endpoint = self.metricsEndpoint {
        group.addTask { try await endpoint.run(logger: self.logger) }
      }
      if let tus = self.tus {
        let (service, listener) = tus
        group.addTask {
          try await listener.run(
            bound: { address in
              let bound = (address?.ipAddress ?? listener.host, address?.port ?? listener.port)
              self.httpBound.withLock { $0 = bound }
              self.logger.notice("tus uploads on \(service.scheme)://\(bound.0):\(bound.1)\(TusService.root), upload page at /")
            },
            respond: { request in await service.respond(to: request) })
        }
      }
      group.addTask {
        let (host, port) = try await self.listeningAddress
        self.logger.notice(
          "uploader-server listening on \(host):\(port)",
          metadata: [
            "store": "\(self.store.name)", "data_dir": "\(self.configuration.dataDirectory)",
            "node": "\(self.sessions.store.node)",
            "database": "\(self.configuration.database.map(String.init(describing:)) ?? "sqlite")",
            "tls": "\(self.configuration.tls == nil ? "off" : self.configuration.tls?.clientCA == nil ? "on" : "mutual")",
            "auth": "\(self.access.isEnabled ? "\(self.access.count) token(s)" : "off")",
            "http2_window": "\(ByteSize.format(Int64(self.configuration.http2TargetWindowSize)))",
            "upload_streams": "\(self.configuration.uploadStreamLimit)",
            // What the streams' windows could hold if every reader stalled at once (--receive-budget).
            "stream_windows_at_most": "\(ByteSize.format(Int64(self.configuration.uploadStreamLimit) * Int64(self.configuration.http2TargetWindowSize))) (upload_streams x http2_window, held only while readers fall behind)",
          ])
      }
      try await withGracefulShutdownHandler {
        try await self.server.serve()
      } onGracefulShutdown: {
        let running = self.streamLimit.runningStreams
        self.logger.notice(
          "draining: no new calls; \(running) upload stream\(running == 1 ? "" : "s") running get until the drain timeout",
          metadata: ["upload_streams_running": "\(running)"])
        self.health.beginDraining()
        self.receiver.beginDraining()
        self.server.beginGracefulShutdown()
      }
      group.cancelAll()
    }
  }

  /// Checks the session database and the object store every `healthCheckInterval`, so health
  /// checks report NOT_SERVING while either fails.
  private func probeDependencies() async {
    while !Task.isCancelled {
      var healthy = true
      do {
        try await sessions.checkDatabase()
        try await store.checkAvailability()
      } catch {
        healthy = false
        if health.status == .serving {
          logger.error("health check failed; reporting NOT_SERVING until it passes", metadata: ["error": "\(error)"])
        }
      }
      health.setDependencies(healthy: healthy)
      if let counts = try? await sessions.countsByState() { metrics.setSessions(counts) }
      let spoolSize = await sessions.spool.size()
      metrics.spoolBytes.set(spoolSize)
      sessions.spool.budget.measured(spoolSize)
      try? await Task.sleep(for: configuration.healthCheckInterval)
    }
  }
}
