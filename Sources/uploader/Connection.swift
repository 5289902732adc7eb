import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import UploadProtocol
import UploaderClient

/// Runs `body` with a client connected to the server of `options`.
func withSessionsClient<T: Sendable>(
  _ options: GlobalOptions, _ body: (UploadEngine.Client, Metadata) async throws -> T
) async throws -> T {
  try await withSessionsClients(options, connections: 1) { clients, metadata in try await body(clients[0], metadata) }
}

/// Runs `body` with `connections` clients, each on its own connection to the server of `options`.
///
/// Parallel part streams each get a connection: one TCP connection per stream keeps a loss on one
/// from stalling the others, and gives each stream its own HTTP/2 connection window. Given
/// several servers (replicas), each client connects to all of them and sends its calls round
/// robin to those that answer, so the streams spread over the replicas and skip one that is down.
func withSessionsClients<T: Sendable>(
  _ options: GlobalOptions, connections: Int, _ body: ([UploadEngine.Client], Metadata) async throws -> T
) async throws -> T {
  let endpoints = try options.endpoints()
  var metadata: Metadata = [:]
  if let token = options.bearerToken { metadata.addString("Bearer \(token)", forKey: "authorization") }
  let clients = try (0..<max(1, connections)).map { index in
    // The client only receives acknowledgements; its window needs no more than the default's
    // few round trips of them.
    GRPCClient(transport: try HTTP2ClientTransport.Posix(
      target: target(endpoints, startingAt: index), transportSecurity: options.transportSecurity,
      config: .defaults { $0.http2.targetWindowSize = 1 << 20 },
      // grpc's default, pick-first, only ever tries the first address of a list.
      serviceConfig: ServiceConfig(loadBalancingConfig: endpoints.count > 1 ? [.roundRobin] : [])))
  }
  return try await withThrowingDiscardingTaskGroup { group in
    for client in clients {
      group.addTask { try await client.runConnections() }
    }
    defer {
      for client in clients { client.beginGracefulShutdown() }
    }
    return try await body(clients.map { Uploader_V1_ResumableUploads.Client(wrapping: $0) }, metadata)
  }
}

/// One server, or the replicas from the `start`-th on, so each client's first calls go to a
/// different one (IPv4 addresses, `endpoints()` checks).
private func target(_ endpoints: [(host: String, port: Int)], startingAt start: Int) -> any ResolvableTarget {
  guard endpoints.count > 1 else { return target(host: endpoints[0].host, port: endpoints[0].port) }
  let first = start % endpoints.count
  return .ipv4(pairs: Array(endpoints[first...] + endpoints[..<first]))
}

/// An IP literal as such (TLS sends no server name for it: SNI forbids IP addresses), else a DNS name.
private func target(host: String, port: Int) -> any ResolvableTarget {
  if GlobalOptions.isIPv4(host) {
    return .ipv4(address: host, port: port)
  }
  if host.contains(":") { return .ipv6(address: host, port: port) }
  return .dns(host: host, port: port)
}

extension GlobalOptions {
  /// Plaintext, or TLS with the CA and client certificate given.
  var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
    guard usesTLS else { return .plaintext }
    return .tls { config in
      if let ca = caCertificate { config.trustRoots = .certificates([.file(path: ca, format: .pem)]) }
      if let certificate = clientCertificate, let key = clientPrivateKey {
        config.certificateChain = [.file(path: certificate, format: .pem)]
        config.privateKey = .file(path: key, format: .pem)
      }
    }
  }
}
