import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import UploadProtocol
import UploaderClient

/// Runs `body` with a client connected to the server of `options`.
func withSessionsClient<T: Sendable>(
  _ options: GlobalOptions, _ body: (UploadEngine.Client, Metadata) async throws -> T
) async throws -> T {
  let (host, port) = try options.endpoint()
  var metadata: Metadata = [:]
  if let token = options.bearerToken { metadata.addString("Bearer \(token)", forKey: "authorization") }
  let transport = try HTTP2ClientTransport.Posix(
    target: target(host: host, port: port), transportSecurity: options.transportSecurity,
    config: .defaults { $0.http2.targetWindowSize = 8 << 20 })
  return try await withGRPCClient(transport: transport) { client in
    try await body(Uploader_V1_ResumableUploads.Client(wrapping: client), metadata)
  }
}

/// An IP literal as such (TLS sends no server name for it: SNI forbids IP addresses), else a DNS name.
private func target(host: String, port: Int) -> any ResolvableTarget {
  if host.split(separator: ".").count == 4, host.utf8.allSatisfy({ $0 == UInt8(ascii: ".") || ($0 >= 48 && $0 <= 57) }) {
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

extension Uploader_V1_Session {
  /// Bytes the server holds durably: whole parts once received, else their acknowledged offset.
  var durableBytes: Int64 {
    parts.reduce(0) { total, part in
      total + Int64(part.state == .received || part.state == .committed ? part.size : part.receivedBytes)
    }
  }
}
