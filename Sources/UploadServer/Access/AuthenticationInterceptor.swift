import GRPCCore
import UploadCore

/// Rejects calls without a known bearer token with UNAUTHENTICATED (health checks excepted) and
/// runs the rest with `Caller.principal` set, in the handler and in its response producer.
struct AuthenticationInterceptor: ServerInterceptor {
  let access: AccessControl
  /// Services anyone may call, such as `grpc.health.v1.Health`.
  let exemptServices: Set<String>

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    if exemptServices.contains(context.descriptor.service.fullyQualifiedService) {
      return try await next(request, context)
    }
    let principal = try authenticate(request.metadata)
    var response = try await Caller.$principal.withValue(principal) { try await next(request, context) }
    if case .success(var contents) = response.accepted {
      let producer = contents.producer
      contents.producer = { writer in try await Caller.$principal.withValue(principal) { try await producer(writer) } }
      response.accepted = .success(contents)
    }
    return response
  }

  private func authenticate(_ metadata: Metadata) throws -> Principal {
    guard access.isEnabled else { return .anonymous }
    let header = metadata["authorization"].compactMap { value -> String? in
      if case .string(let text) = value { return text }
      return nil
    }
    guard let value = header.first else {
      throw UploadError(
        .unauthenticated, "this server requires a token: send the metadata \"authorization: Bearer <token>\"")
    }
    // The scheme is case-insensitive (RFC 9110); the token is not.
    guard header.count == 1, value.utf8.count <= 4096, value.prefix(7).lowercased() == "bearer " else {
      throw UploadError(.unauthenticated, "the authorization metadata must be one \"Bearer <token>\"")
    }
    guard let principal = access.principal(forToken: String(value.dropFirst(7))) else {
      throw UploadError(.unauthenticated, "the token is not valid on this server")
    }
    return principal
  }
}
