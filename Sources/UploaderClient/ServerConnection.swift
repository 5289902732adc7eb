import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import UploadCore
import UploadProtocol

/// How to reach an uploader-server: its address (or several replicas'), a bearer token and TLS.
public struct ServerConnection: Sendable {
  /// TLS settings: the CA to verify the server with, and a client certificate for mutual TLS.
  public struct TLS: Sendable {
    /// PEM CA certificate(s); nil trusts the system's roots.
    public var caCertificate: String?
    /// PEM client certificate and its private key, for servers that require mutual TLS.
    public var clientCertificate: (certificate: String, key: String)?

    /// TLS verified against `caCertificate` (or the system's roots).
    public init(caCertificate: String? = nil, clientCertificate: (certificate: String, key: String)? = nil) {
      self.caCertificate = caCertificate
      self.clientCertificate = clientCertificate
    }
  }

  /// The servers, in the order given: one, or several replicas (IPv4 addresses), called round
  /// robin, skipping one that cannot be reached.
  public var endpoints: [(host: String, port: Int)]
  /// Sent as `authorization: Bearer TOKEN`.
  public var token: String?
  /// nil: plaintext.
  public var tls: TLS?

  /// A connection to `server`, `HOST:PORT` or `IP:PORT,IP:PORT,...`.
  ///
  /// - Throws: `ClientError` for an address that is not `HOST:PORT`, or several that are not
  ///   all IPv4 addresses.
  public init(server: String, token: String? = nil, tls: TLS? = nil) throws {
    let list = server.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    endpoints = try list.map { text -> (host: String, port: Int) in
      guard let address = HostPort.parse(text), address.port > 0 else {
        throw ClientError("the server \"\(text)\" is not HOST:PORT", journalState: nil)
      }
      return address
    }
    guard !endpoints.isEmpty else { throw ClientError("the server address is empty; give HOST:PORT", journalState: nil) }
    if endpoints.count > 1, let name = endpoints.first(where: { !Self.isIPv4($0.host) }) {
      throw ClientError(
        "a list of several servers takes IPv4 addresses; \"\(name.host)\" is a name. Give one address (a load balancer's name works) or the replicas' IP addresses",
        journalState: nil)
    }
    self.token = token
    self.tls = tls
  }

  /// `HOST:PORT` of the first server, for messages and the journal.
  public var description: String { endpoints.map { "\($0.host):\($0.port)" }.joined(separator: ",") }

  /// The congestion control every connection asks for (`CongestionControl.preferred`: BBR where
  /// the kernel allows it).
  public var congestionControl: CongestionControl = .preferred

  /// Runs `body` with `count` clients, each on its own connection.
  ///
  /// Parallel part streams each get a connection: one TCP connection per stream keeps a loss on
  /// one from stalling the others, and gives each stream its own HTTP/2 connection window. Given
  /// several servers, each client connects to all of them, starting from a different one.
  public func withClients<T: Sendable>(
    _ count: Int, _ body: ([UploadEngine.Client], Metadata) async throws -> T
  ) async throws -> T {
    try await withClients(count) { clients, connections in try await body(clients, connections.metadata) }
  }

  /// Runs `body` with `count` clients, each on its own connection, and the connections (their
  /// metadata and sockets).
  public func withClients<T: Sendable>(
    _ count: Int, _ body: ([UploadEngine.Client], Connections) async throws -> T
  ) async throws -> T {
    try await withConnections { connections in
      try await body((0..<max(1, count)).map { try connections.client($0) }, connections)
    }
  }

  /// Runs `body` with a set of connections that it opens as it needs them (`Connections.client`),
  /// and closes them all when it returns.
  public func withConnections<T: Sendable>(_ body: (Connections) async throws -> T) async throws -> T {
    var metadata: Metadata = [:]
    if let token { metadata.addString("Bearer \(token)", forKey: "authorization") }
    let sockets = SocketRegistry(congestionControl: congestionControl)
    let connections = Connections(metadata: metadata, sockets: sockets) { [self] index in
      GRPCClient(transport: try HTTP2ClientTransport.Posix(
        target: target(startingAt: index), transportSecurity: transportSecurity,
        config: .defaults {
          // The client only receives acknowledgements; its window needs no more than the
          // default's few round trips of them.
          $0.http2.targetWindowSize = 1 << 20
          $0.connection.keepalive = Self.keepalive
          $0.backoff = Self.reconnectBackoff
          $0.channelDebuggingCallbacks.onCreateTCPConnection = sockets.configure
        },
        // grpc's default, pick-first, only ever tries the first address of a list.
        serviceConfig: ServiceConfig(loadBalancingConfig: endpoints.count > 1 ? [.roundRobin] : [])))
    }
    do {
      let result = try await body(connections)
      await connections.close()
      return result
    } catch {
      await connections.close()
      throw error
    }
  }

  /// HTTP/2 PINGs every 10 s on a connection with calls; one not answered within 9 s closes it.
  /// The timeout must be shorter than the interval: grpc-swift-nio-transport 2.9 pings on a
  /// repeating timer, and each ping restarts the timeout of the one before, so a timeout as long
  /// as the interval never expires. A ping waits behind its socket's unsent bytes (at most
  /// `SocketRegistry.unsentLowWater`): with 64 connections sharing a lossy path at 0.5 Mbit/s
  /// each, 4 s was too short (measured: a healthy connection dropped). A dark link is noticed
  /// sooner by `SocketRegistry`'s `TCP_USER_TIMEOUT` (10 s of unacknowledged bytes); the pings
  /// make sure a connection that only waits for the server has such bytes.
  static let keepalive = HTTP2ClientTransport.Config.Keepalive(time: .seconds(10), timeout: .seconds(9), allowWithoutCalls: false)

  /// While the server cannot be reached, try again at least every second (grpc's default backs
  /// off to 2 minutes), so a connection follows the link back within about a second.
  static let reconnectBackoff = HTTP2ClientTransport.Config.Backoff(
    initial: .milliseconds(250), max: .seconds(1), multiplier: 1.6, jitter: 0.2)

  /// Whether `host` is an IPv4 literal.
  public static func isIPv4(_ host: String) -> Bool {
    host.split(separator: ".").count == 4 && host.utf8.allSatisfy { $0 == UInt8(ascii: ".") || ($0 >= 48 && $0 <= 57) }
  }

  /// One server, or the replicas from the `start`-th on, so each client's first calls go to a
  /// different one.
  private func target(startingAt start: Int) -> any ResolvableTarget {
    guard endpoints.count > 1 else { return Self.target(host: endpoints[0].host, port: endpoints[0].port) }
    let first = start % endpoints.count
    return .ipv4(pairs: Array(endpoints[first...] + endpoints[..<first]))
  }

  /// An IP literal as such (TLS sends no server name for it: SNI forbids IP addresses), else a
  /// DNS name.
  private static func target(host: String, port: Int) -> any ResolvableTarget {
    if isIPv4(host) { return .ipv4(address: host, port: port) }
    if host.contains(":") { return .ipv6(address: host, port: port) }
    return .dns(host: host, port: port)
  }

  private var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
    guard let tls else { return .plaintext }
    return .tls { config in
      if let ca = tls.caCertificate { config.trustRoots = .certificates([.file(path: ca, format: .pem)]) }
      if let (certificate, key) = tls.clientCertificate {
        config.certificateChain = [.file(path: certificate, format: .pem)]
        config.privateKey = .file(path: key, format: .pem)
      }
    }
  }
}
