import GRPCCore
import Synchronization
import UploadCore
import UploadProtocol

/// Gathers the whole objects of a batch's files into `UploadObjects` calls, so that many small
/// files share one exchange, one transaction on the server and one round trip.
///
/// A call goes out as soon as fewer than `maximumCalls` are in flight, with every object
/// waiting then (up to `maximumObjects` and `maximumBytes`): one file alone goes at once, and
/// under load the files gather while the calls before them travel. Calls rotate over the
/// connections. `run()` sends them; it runs beside the files, and when it is cancelled every
/// object still waiting gets `CancellationError`.
public final class WholeObjectBatcher: Sendable {
  private struct Waiting {
    var request: Uploader_V1_UploadObjectRequest
    var continuation: CheckedContinuation<Uploader_V1_UploadObjectResult, any Error>
  }

  private struct State {
    var waiting: [Waiting] = []
    var inFlight = 0
    var calls = 0
    var maximumBytes: Int
    var stopped = false
  }

  /// Makes call number `n` (from 1).
  private let call: @Sendable (Uploader_V1_UploadObjectsRequest, Int) async throws -> Uploader_V1_UploadObjectsResponse
  private let maximumCalls: Int
  private let maximumObjects: Int
  /// Bytes a call is cut down to after a larger one was dropped (a server's --max-message-size).
  private let fallbackBytes: Int
  private let state: Mutex<State>
  private let wakeups: AsyncStream<Void>
  private let wake: AsyncStream<Void>.Continuation

  /// A batcher over `clients` (at least one), sending with `metadata`. Calls carry at most
  /// `maximumBytes` of data unless one object alone is larger; after a call larger than
  /// `fallbackBytes` is dropped by the transport, at most that.
  public convenience init(
    clients: [UploadEngine.Client], metadata: Metadata, maximumCalls: Int = 4, maximumObjects: Int = 64,
    maximumBytes: Int = 1 << 20, fallbackBytes: Int = 256 << 10
  ) {
    precondition(!clients.isEmpty, "WholeObjectBatcher needs at least one client")
    self.init(
      maximumCalls: maximumCalls, maximumObjects: maximumObjects, maximumBytes: maximumBytes, fallbackBytes: fallbackBytes
    ) { request, n in
      try await clients[n % clients.count].uploadObjects(request, metadata: metadata)
    }
  }

  /// A batcher that makes its calls with `call` (given the call's number, from 1).
  init(
    maximumCalls: Int, maximumObjects: Int, maximumBytes: Int, fallbackBytes: Int,
    call: @escaping @Sendable (Uploader_V1_UploadObjectsRequest, Int) async throws -> Uploader_V1_UploadObjectsResponse
  ) {
    self.call = call
    self.maximumCalls = max(1, maximumCalls)
    self.maximumObjects = max(1, min(maximumObjects, 256))
    self.fallbackBytes = fallbackBytes
    self.state = Mutex(State(maximumBytes: maximumBytes))
    (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
  }

  /// Sends `request` in the next call; returns its result.
  ///
  /// - Throws: what the call as a whole failed with (the transport's errors, an older server's
  ///   UNIMPLEMENTED); `CancellationError` once `run()` has stopped.
  func submit(_ request: Uploader_V1_UploadObjectRequest) async throws -> Uploader_V1_UploadObjectResult {
    try await withCheckedThrowingContinuation { continuation in
      let stopped = state.withLock { state in
        if !state.stopped { state.waiting.append(Waiting(request: request, continuation: continuation)) }
        return state.stopped
      }
      if stopped { continuation.resume(throwing: CancellationError()) }
      wake.yield()
    }
  }

  /// Sends calls until cancelled; then fails the objects still waiting at once, and returns
  /// once the calls in flight have answered.
  public func run() async {
    await withDiscardingTaskGroup { group in
      for await _ in wakeups {
        while let (objects, number) = nextCall() {
          group.addTask { await self.send(objects, number: number) }
        }
      }
      let left = state.withLock { state in
        state.stopped = true
        defer { state.waiting = [] }
        return state.waiting
      }
      for waiting in left { waiting.continuation.resume(throwing: CancellationError()) }
    }
  }

  /// Objects waiting for a call.
  var waitingCount: Int { state.withLock { $0.waiting.count } }

  /// The most bytes a call carries now (unless one object alone is larger).
  var maximumBytes: Int { state.withLock { $0.maximumBytes } }

  /// The objects of the next call and its number, if a call may go now.
  private func nextCall() -> ([Waiting], Int)? {
    state.withLock { state in
      guard state.inFlight < maximumCalls, !state.waiting.isEmpty else { return nil }
      var bytes = 0
      var count = 0
      for waiting in state.waiting {
        let size = waiting.request.data.count
        guard count < maximumObjects, count == 0 || bytes + size <= state.maximumBytes else { break }
        bytes += size
        count += 1
      }
      let call = Array(state.waiting.prefix(count))
      state.waiting.removeFirst(count)
      state.inFlight += 1
      state.calls += 1
      return (call, state.calls)
    }
  }

  /// Makes one call and hands each object its result.
  private func send(_ call: [Waiting], number: Int) async {
    defer {
      state.withLock { $0.inFlight -= 1 }
      wake.yield()
    }
    let request = Uploader_V1_UploadObjectsRequest.with { $0.objects = call.map(\.request) }
    do {
      let results = try await self.call(request, number).results
      guard results.count == call.count else {
        throw RPCError(
          code: .internalError,
          message: "the server answered \(results.count) results for \(call.count) objects")
      }
      for (waiting, result) in zip(call, results) { waiting.continuation.resume(returning: result) }
    } catch {
      let bytes = call.reduce(0) { $0 + $1.request.data.count }
      if let error = error as? RPCError, UploadFailure.isUnreachable(error) || error.code == .cancelled,
        bytes > fallbackBytes
      {
        // Dropped: maybe a message over the server's limit, which looks like a lost link. Calls
        // stay small from now on; the files retry.
        state.withLock { $0.maximumBytes = min($0.maximumBytes, fallbackBytes) }
      }
      for waiting in call { waiting.continuation.resume(throwing: error) }
    }
  }
}

extension Uploader_V1_ObjectError {
  /// The error UploadObject would have failed with, for the retry loop and the messages.
  var rpcError: RPCError {
    let code = Status.Code(rawValue: Int(status)).flatMap(RPCError.Code.init) ?? .unknown
    return RPCError(code: code, message: message, metadata: self.code.isEmpty ? [:] : [ErrorMetadata.code: .string(self.code)])
  }
}
