import GRPCCore
import UploaderClient

/// Runs `body` with a client connected to the server of `options`.
func withSessionsClient<T: Sendable>(
  _ options: GlobalOptions, _ body: (UploadEngine.Client, Metadata) async throws -> T
) async throws -> T {
  try await withSessionsClients(options, connections: 1) { clients, metadata in try await body(clients[0], metadata) }
}

/// Runs `body` with `connections` clients, each on its own connection to the server of `options`
/// (`ServerConnection.withClients`).
func withSessionsClients<T: Sendable>(
  _ options: GlobalOptions, connections: Int, congestionControl: CongestionControl = .preferred,
  _ body: ([UploadEngine.Client], Metadata) async throws -> T
) async throws -> T {
  var connection = try options.connection()
  connection.congestionControl = congestionControl
  return try await connection.withClients(connections, body)
}

extension GlobalOptions {
  /// The server, token and TLS these options name.
  func connection() throws -> ServerConnection {
    let tls = usesTLS
      ? ServerConnection.TLS(
        caCertificate: caCertificate,
        clientCertificate: clientCertificate.flatMap { certificate in clientPrivateKey.map { (certificate, $0) } })
      : nil
    return try ServerConnection(server: serverAddress, token: bearerToken, tls: tls)
  }
}
