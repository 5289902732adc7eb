import GRPCCore
import NIOFileSystem
import Synchronization
import UploadCore

/// The part streams of an attempt: how many should run, how many do, and the bytes they may keep
/// in flight together.
final class StreamCount: Sendable {
  private let state: Mutex<(target: Int, running: Int, budget: Int64)>

  init(target: Int) {
    state = Mutex((target, 0, InFlightBytes.budget))
  }

  /// What the running streams may keep in flight together (`InFlightBytes.budget(forGoodput:)`).
  var budget: Int64 { state.withLock { $0.budget } }
  func set(budget: Int64) { state.withLock { $0.budget = budget } }

  /// Streams with an index below it take new parts; the others stop after their part.
  var target: Int { state.withLock { $0.target } }
  /// Streams sending now, which share the client's in-flight budget.
  var running: Int { state.withLock { max(1, $0.running) } }

  func set(target: Int) { state.withLock { $0.target = target } }
  func started() { state.withLock { $0.running += 1 } }
  func ended() { state.withLock { $0.running -= 1 } }
}

extension UploadEngine {
  /// What the attempt's task group hears from its children.
  private enum StreamEvent: Sendable {
    /// A part stream ran out of parts (or was told to stop).
    case ended(index: Int)
    /// A part stream failed.
    case failed(index: Int, any Error)
    /// A sampling interval passed.
    case tick
  }

  /// Goodput is sampled this often; `ConnectionTuner` decides on a few samples.
  static let samplingInterval: Duration = .seconds(1)

  /// Runs the part streams of an attempt until `queue` is empty: the tuner's count of them, each on
  /// its own connection, and, with connections to open, more (or fewer) as the tuner decides on
  /// the goodput it is fed every `samplingInterval`.
  ///
  /// A stream that fails does not stop the others: they go on taking parts until the queue is
  /// empty, and the attempt fails with the first error once every stream has ended. Behind a load
  /// balancer a stream that lands on another replica is refused (its part restarts there), and
  /// cancelling the others each time would throw their progress away too, attempt after attempt.
  func runStreams(
    _ queue: PartQueue, parts: [JournalPart], session: String, upload: JournalUpload, file: ReadFileHandle,
    digester: FileDigester, limiter: RateLimiter?, progress: Progress, inFlight: InFlightBytes
  ) async throws {
    // A fixed list of clients has a tuner that starts at its maximum, so settled.
    let adapts: Connections? =
      if case .opened(let connections) = links, !tuner.withLock({ $0.isSettled }) { connections } else { nil }
    // Each attempt's streams start on fresh or idle connections: measure once they have ramped up.
    let streams = StreamCount(target: tuner.withLock { tuner in
      tuner.reconnected()
      return tuner.count
    })
    let sender = PartSender(
      journal: journal, chunkSize: options.chunkSize, metadata: options.metadata, parts: parts, session: session,
      upload: upload, file: file, digester: digester, limiter: limiter, progress: progress, inFlight: inFlight,
      streams: streams)
    try await withThrowingTaskGroup(of: StreamEvent.self) { group in
      var slots = StreamSlots()
      func start(upTo target: Int) throws {
        while queue.hasParts, let index = slots.free(below: target) {
          let client = try streamClient(index)
          slots.started(index)
          streams.started()
          group.addTask {
            defer { streams.ended() }
            do {
              try await sender.send(queue, over: client, index: index)
            } catch {
              return .failed(index: index, error)
            }
            return .ended(index: index)
          }
        }
      }
      try start(upTo: streams.target)
      // A tick sleeps without throwing, so the last stream's end can cancel it at once.
      func tick() { group.addTask { try? await Task.sleep(for: Self.samplingInterval); return .tick } }
      if let adapts {
        _ = await adapts.sockets.acknowledgedBytesSinceLastCall()  // the baseline of the first sample
        tick()
      }
      var sampledAt = ContinuousClock.now
      var failure: (any Error)?
      while let event = try await group.next() {
        switch event {
        case .ended(let index), .failed(let index, _):
          if case .failed(_, let error) = event { failure = failure ?? error }
          slots.ended(index)
          if case .opened(let connections) = links, index >= streams.target { connections.release(index) }
          if slots.isEmpty, failure != nil || !queue.hasParts { group.cancelAll() }
        case .tick:
          guard let adapts, !Task.isCancelled, failure == nil, queue.hasParts else { continue }
          let bytes = await adapts.sockets.acknowledgedBytesSinceLastCall()
          let elapsed = sampledAt.duration(to: .now)
          sampledAt = .now
          let rate = Double(bytes) / max(elapsed.inSeconds, 0.001)
          if rate > 0 { streams.set(budget: InFlightBytes.budget(forGoodput: rate)) }
          switch tuner.withLock({ $0.record(bytesPerSecond: rate) }) {
          case .hold:
            break
          case .grow(let count):
            streams.set(target: count)
            try start(upTo: count)
            // Fewer may start than asked for: only parts left in the queue get a stream.
            onEvent(.connections(count: slots.count, bytesPerSecond: rate))
          case .shrink(let count):
            streams.set(target: count)
            onEvent(.connections(count: count, bytesPerSecond: rate))
          }
          if !tuner.withLock({ $0.isSettled }) { tick() }
        }
      }
      if let failure { throw failure }
    }
  }
}
