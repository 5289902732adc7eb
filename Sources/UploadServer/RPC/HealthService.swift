import GRPCCore
import UploadProtocol

/// The standard `grpc.health.v1.Health` service, for load balancers, grpcurl and
/// `grpc_health_probe`. The empty service name and every service the server offers share one
/// status.
struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
  static let services: Set<String> = ["", "uploader.FileUploader", "uploader.v1.ResumableUploads", "grpc.health.v1.Health"]

  let health: HealthStatus

  func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws
    -> Grpc_Health_V1_HealthCheckResponse
  {
    guard Self.services.contains(request.service) else {
      throw RPCError(code: .notFound, message: "unknown service \"\(request.service)\"")
    }
    return .with { $0.status = Self.wire(health.status) }
  }

  func watch(
    request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
    context: ServerContext
  ) async throws {
    guard Self.services.contains(request.service) else {
      try await response.write(.with { $0.status = .serviceUnknown })
      try await Task.sleep(for: .seconds(86_400 * 365))
      return
    }
    for await status in health.updates() {
      try await response.write(.with { $0.status = Self.wire(status) })
    }
  }

  private static func wire(_ status: HealthStatus.Status) -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
    status == .serving ? .serving : .notServing
  }
}
