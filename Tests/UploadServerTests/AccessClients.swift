import Foundation
import GRPCCore
import ServiceLifecycle
import GRPCNIOTransportHTTP2
import UploadCore
import UploadProtocol
import UploadServer

/// Adds `authorization: Bearer <token>` to every call.
struct BearerToken: ClientInterceptor {
  let token: String

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
  ) async throws -> StreamingClientResponse<Output> {
    var request = request
    request.metadata.addString("Bearer \(token)", forKey: "authorization")
    return try await next(request, context)
  }
}

/// Writes a tokens file granting each `(principal, token)`.
func writeTokensFile(_ path: String, _ grants: [(String, String)]) throws {
  let text = grants.map { "\($0.0) \(ContentHash.of(Array($0.1.utf8)).hex)" }.joined(separator: "\n") + "\n"
  try text.write(toFile: path, atomically: true, encoding: .utf8)
}

/// A client of `server` that sends `token`, or none.
func withClient<T: Sendable>(
  of server: UploaderServer, token: String?,
  _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T
) async throws -> T {
  let (_, port) = try await server.listeningAddress
  return try await withGRPCClient(
    transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext),
    interceptors: token.map { [BearerToken(token: $0)] } ?? []
  ) { client in
    try await body(client)
  }
}

/// Runs a real server on a loopback port, without a client.
func withRunningServer<T: Sendable>(
  _ configuration: ServerConfiguration, _ body: (UploaderServer) async throws -> T
) async throws -> T {
  let server = try await UploaderServer(configuration: configuration, logger: quietLogger)
  // Stopped by graceful shutdown, as the executable stops it: cancelling a NIO server while an
  // accepted connection is still buffered traps in debug builds ("Deinited NIOAsyncWriter
  // without calling finish()", apple/swift-nio#3481). Calls still running after 2 s are cancelled.
  var lifecycle = ServiceGroupConfiguration(services: [server], logger: quietLogger)
  lifecycle.maximumGracefulShutdownDuration = .seconds(2)
  let services = ServiceGroup(configuration: lifecycle)
  return try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await services.run() }
    let result: Result<T, any Error>
    do {
      result = .success(try await body(server))
    } catch {
      result = .failure(error)
    }
    await services.triggerGracefulShutdown()
    do {
      try await group.waitForAll()
    } catch {
      // The body's own failure says more than what stopping the server then threw.
      if case .success = result { throw error }
    }
    return try result.get()
  }
}
