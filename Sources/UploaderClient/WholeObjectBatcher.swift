import GRPCCore
import Synchronization
import UploadCore
import UploadProtocol

/// Gathers the whole objects of a batch's files into `UploadObjects` calls, so that many small
/// files share one exchange, one transaction on the server and one round trip.
///
/// A call goes out as soon as fewer than the limit are in flight, with its share of the objects
/// waiting then (shared among the calls that may go; up to `maximumObjects` and
/// `maximumBytes`): one file alone goes at once, and under load the files gather while the
/// calls before them travel. The limit is `baseCalls` on a
/// short path (a near server: fewer, fuller calls cost it less CPU), and `maximumCalls` once
/// the path's round trip, as TCP measures it, is `longRoundTrip` or more (a long link: more
/// calls at once fill it; the time calls take says nothing here, as it includes the server's
/// queue). Each
/// place in flight has a connection of its own, so a connection carries one call after another
/// and its congestion window stays open (one used now and then starts slowly again). `run()`
/// sends the calls; it runs beside the files, and when it is cancelled every object still
/// waiting gets `CancellationError`.
public final class WholeObjectBatcher: Sendable {
  private struct Waiting {
    var request: Uploader_V1_UploadObjectRequest
    var continuation: CheckedContinuation<Uploader_V1_UploadObjectResult, any Error>
  }

  private struct State {
    var waiting: [Waiting] = []
    /// The places no call holds, each a connection.
    var free: [Int]
    /// The most calls in flight now.
    var limit: Int
    /// When the round trip was last asked for.
    var checked: ContinuousClock.Instant?
    var maximumBytes: Int
    var stopped = false
  }

  /// Makes a call in the given place (from 0), on that place's connection.
  private let call: @Sendable (Uploader_V1_UploadObjectsRequest, Int) async throws -> Uploader_V1_UploadObjectsResponse
  private let baseCalls: Int
  private let maximumCalls: Int
  private let longRoundTrip: Duration
  /// The path's round trip, as the connections' TCP measures it; nil while unknown.
  private let roundTrip: @Sendable () async -> Duration?
  private let now: @Sendable () -> ContinuousClock.Instant
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
    clients: [UploadEngine.Client], connections: Connections, baseCalls: Int = 4, maximumCalls: Int = 16,
    longRoundTrip: Duration = .milliseconds(5), maximumObjects: Int = 64, maximumBytes: Int = 1 << 20,
    fallbackBytes: Int = 256 << 10
  ) {
    precondition(!clients.isEmpty, "WholeObjectBatcher needs at least one client")
    let metadata = connections.metadata
    self.init(
      baseCalls: baseCalls, maximumCalls: maximumCalls, longRoundTrip: longRoundTrip, maximumObjects: maximumObjects,
      maximumBytes: maximumBytes, fallbackBytes: fallbackBytes, roundTrip: { await connections.sockets.smallestRoundTrip() }
    ) { request, place in
      try await clients[place % clients.count].uploadObjects(request, metadata: metadata)
    }
  }

  /// A batcher that makes its calls with `call`, given the call's place in flight (from 0); it
  /// asks `roundTrip` for the path's round trip at most every second of `now`.
  init(
    baseCalls: Int, maximumCalls: Int, longRoundTrip: Duration = .milliseconds(5), maximumObjects: Int,
    maximumBytes: Int, fallbackBytes: Int, roundTrip: @escaping @Sendable () async -> Duration? = { nil },
    now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
    call: @escaping @Sendable (Uploader_V1_UploadObjectsRequest, Int) async throws -> Uploader_V1_UploadObjectsResponse
  ) {
    self.call = call
    self.maximumCalls = max(1, maximumCalls)
    self.baseCalls = min(max(1, baseCalls), self.maximumCalls)
    self.longRoundTrip = longRoundTrip
    self.roundTrip = roundTrip
    self.now = now
    self.maximumObjects = max(1, min(maximumObjects, 256))
    self.fallbackBytes = fallbackBytes
    self.state = Mutex(
      State(free: Array((0..<self.maximumCalls).reversed()), limit: self.baseCalls, maximumBytes: maximumBytes))
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
        while let (objects, place) = nextCall() {
          group.addTask { await self.send(objects, place: place) }
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

  /// Sets the limit from the path's round trip, asked for at most once a second.
  private func checkRoundTrip() async {
    let due = state.withLock { state in
      let now = now()
      guard state.checked.map({ $0.duration(to: now) >= .seconds(1) }) ?? true else { return false }
      state.checked = now
      return true
    }
    guard due, let measured = await roundTrip() else { return }
    state.withLock { $0.limit = measured >= longRoundTrip ? maximumCalls : baseCalls }
  }

  /// The most calls in flight now.
  var limit: Int { state.withLock { $0.limit } }

  /// Objects waiting for a call.
  var waitingCount: Int { state.withLock { $0.waiting.count } }

  /// The most bytes a call carries now (unless one object alone is larger).
  var maximumBytes: Int { state.withLock { $0.maximumBytes } }

  /// The objects of the next call and its place, if a call may go now.
  private func nextCall() -> ([Waiting], Int)? {
    state.withLock { state in
      let open = state.limit - (maximumCalls - state.free.count)
      guard open > 0, !state.waiting.isEmpty else { return nil }
      // The waiting objects are shared among the calls that may go now, so that they travel on
      // as many connections at once.
      let share = (state.waiting.count + open - 1) / open
      var bytes = 0
      var count = 0
      for waiting in state.waiting {
        let size = waiting.request.data.count
        guard count < min(maximumObjects, share), count == 0 || bytes + size <= state.maximumBytes else { break }
        bytes += size
        count += 1
      }
      let call = Array(state.waiting.prefix(count))
      state.waiting.removeFirst(count)
      return (call, state.free.removeLast())
    }
  }

  /// Makes one call and hands each object its result.
  private func send(_ call: [Waiting], place: Int) async {
    defer {
      state.withLock { $0.free.append(place) }
      wake.yield()
    }
    let request = Uploader_V1_UploadObjectsRequest.with { $0.objects = call.map(\.request) }
    do {
      let results = try await self.call(request, place).results
      await checkRoundTrip()
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
