import GRPCCore
import Testing
import UploadCore

@testable import UploadServer

/// The admission bookkeeping, driven directly: the transport may drop a response without ever
/// running its producer (the client went away before the headers), and the place must come back.
@Suite struct StreamLimitInterceptorTests {
  static let upload = MethodDescriptor(fullyQualifiedService: "uploader.v1.ResumableUploads", method: "UploadParts")

  func call(_ interceptor: StreamLimitInterceptor) async throws -> StreamingServerResponse<Int> {
    try await withServerContextRPCCancellationHandle { cancellation in
      let context = ServerContext(
        descriptor: Self.upload, remotePeer: "test", localPeer: "test", cancellation: cancellation)
      let request = StreamingServerRequest<Int>(metadata: [:], messages: RPCAsyncSequence(wrapping: AsyncThrowingStream { $0.finish() }))
      return try await interceptor.intercept(request: request, context: context) { _, _ in
        StreamingServerResponse<Int>(single: ServerResponse(message: 1))
      }
    }
  }

  func isRefused(_ interceptor: StreamLimitInterceptor) async -> Bool {
    do {
      _ = try await call(interceptor)
      return false
    } catch let error as UploadError {
      return error.code == .tooManyStreams
    } catch {
      return false
    }
  }

  @Test func aPlaceComesBackWhenTheResponseGoesEvenIfItsProducerNeverRan() async throws {
    let interceptor = StreamLimitInterceptor(limitedMethods: [Self.upload], maximumStreams: 1, idleTimeout: .seconds(60))
    var held: StreamingServerResponse<Int>? = try await call(interceptor)
    #expect(await isRefused(interceptor), "the one place is taken while the response lives")
    held = nil
    _ = held
    #expect(await !isRefused(interceptor), "dropping the response without running it gives the place back")
  }
}
