import GRPCCore
import Synchronization
import UploadCore

/// Bounds the upload streams a server runs at once, and ends any call that keeps the server
/// waiting for its next message longer than the idle timeout.
///
/// A stream over the limit gets RESOURCE_EXHAUSTED before any of its data is read; an idle call
/// gets DEADLINE_EXCEEDED, and whatever it had sent stays as durable as it was.
final class StreamLimitInterceptor: ServerInterceptor {
  /// The methods that count as upload streams.
  let limitedMethods: Set<MethodDescriptor>
  /// The most upload streams running at once.
  let maximumStreams: Int
  /// The flags that set `maximumStreams`, named when a stream is refused.
  let limitSource: String
  /// How long the server waits for a client's next message.
  let idleTimeout: Duration
  private let running = Mutex(0)
  /// Upload streams running now.
  var runningStreams: Int { running.withLock { $0 } }

  init(limitedMethods: Set<MethodDescriptor>, maximumStreams: Int, limitSource: String = "--max-streams",
    idleTimeout: Duration)
  {
    self.limitedMethods = limitedMethods
    self.maximumStreams = maximumStreams
    self.limitSource = limitSource
    self.idleTimeout = idleTimeout
  }

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    // The stream's place is given back when the last reference to its admission goes: on any
    // error here, or when the response producer is released. The producer may never run (the
    // client can vanish before the response headers are written), so releasing inside it leaked.
    let admission = try limitedMethods.contains(context.descriptor) ? admit() : nil
    let watch = IdleWatch()
    let request = StreamingServerRequest(
      metadata: request.metadata,
      messages: RPCAsyncSequence(wrapping: WatchedMessages(base: request.messages, watch: watch)))
    let timeout = idleTimeout
    // The unary handlers read their one message here; `enforce` waits for the body to end.
    var response = try await withoutActuallyEscaping(next) { next in
      try await watch.enforce(timeout) { try await next(request, context) }
    }
    guard case .success(var contents) = response.accepted else { return response }
    let producer = contents.producer
    contents.producer = { writer in
      defer { withExtendedLifetime(admission) {} }
      return try await watch.enforce(timeout) { try await producer(writer) }
    }
    response.accepted = .success(contents)
    return response
  }

  /// Takes a place among the running streams, or throws `.tooManyStreams`; the place is given
  /// back when the admission goes. The tus door takes one for each request with a body.
  func admit() throws(UploadError) -> Admission {
    let admitted = running.withLock { running in
      guard running < maximumStreams else { return false }
      running += 1
      return true
    }
    guard admitted else {
      throw UploadError(
        .tooManyStreams,
        "the server is running its limit of \(maximumStreams) upload streams (\(limitSource)); retry later")
    }
    return Admission { self.release() }
  }

  private func release() {
    running.withLock { $0 -= 1 }
  }
}

/// A running stream's place; given back when the last reference goes.
final class Admission: Sendable {
  private let onRelease: @Sendable () -> Void

  init(onRelease: @escaping @Sendable () -> Void) {
    self.onRelease = onRelease
  }

  deinit { onRelease() }
}
