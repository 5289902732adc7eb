import Synchronization

/// The retry loop of both engines: runs `body` until it succeeds. A transient failure waits
/// (backoff with jitter, announced as `.retrying`) and tries again; attempts are counted since
/// the last progress. A permanent failure ends the loop with what `permanent` makes of it.
///
/// - Parameters:
///   - progress: the bytes the server has acknowledged so far.
///   - unreachable: the error for a server that never answered in `firstContactAttempts` tries.
///   - exhausted: the error once `retry` allows no more attempts, given the count and the reason.
func retrying<T: Sendable>(
  options: UploadEngine.Options, onEvent: @escaping @Sendable (UploadEngine.Event) -> Void,
  progress: () async throws -> Int64,
  unreachable: (Int) -> ClientError,
  exhausted: (Int, String) -> ClientError,
  permanent: (any Error) async throws -> any Error,
  _ body: (Contact) async throws -> T
) async throws -> T {
  let contact = Contact(onReconnect: { onEvent(.reconnected(after: $0)) })
  var attempt = 0
  var lastDone: Int64 = -1
  var stalledSince = ContinuousClock.now
  while true {
    do {
      return try await body(contact)
    } catch {
      if Task.isCancelled { throw CancellationError() }
      guard let reason = UploadFailure.transientReason(error) else { throw try await permanent(error) }
      let done = try await progress()
      if done > lastDone { (attempt, stalledSince) = (0, .now) }
      lastDone = done
      attempt += 1
      if !contact.isMade, UploadFailure.isUnreachable(error), attempt >= options.firstContactAttempts {
        throw unreachable(attempt)
      }
      var delay = options.retry.delay(after: attempt, unitRandom: Double.random(in: 0.5...1))
      if let window = options.retryFor {
        // As long as the user asked for, counted from the last progress.
        guard stalledSince.duration(to: .now) < window else { throw exhausted(attempt, reason) }
        if contact.isMade, UploadFailure.isUnreachable(error) {
          _ = contact.lost()
          delay = min(delay, Contact.reconnectInterval)
        }
      } else if contact.isMade, UploadFailure.isUnreachable(error) {
        // The link to a server that answered before broke or went silent: keep trying about
        // every second, so the upload follows the link back, until the window closes.
        let lost = contact.lost()
        guard lost < options.reconnectWindow else { throw exhausted(attempt, reason) }
        delay = min(delay, Contact.reconnectInterval)
      } else {
        guard options.retry.allowsRetry(after: attempt) else { throw exhausted(attempt, reason) }
      }
      onEvent(.retrying(after: delay, attempt: attempt, reason: reason))
      try await Task.sleep(for: delay)
    }
  }
}

/// Whether the server answered during a run, and since when the link to it is lost.
final class Contact: Sendable {
  /// The longest wait between two attempts while the link is lost.
  static let reconnectInterval: Duration = .seconds(1)

  private let state = Mutex<(reached: Bool, lostSince: ContinuousClock.Instant?)>((false, nil))
  private let onReconnect: @Sendable (Duration) -> Void

  init(onReconnect: @escaping @Sendable (Duration) -> Void = { _ in }) {
    self.onReconnect = onReconnect
  }

  var isMade: Bool { state.withLock { $0.reached } }

  /// The server answered; after a lost link, that is a reconnection.
  func made() {
    let lostFor = state.withLock { state -> Duration? in
      defer { state = (true, nil) }
      return state.lostSince.map { $0.duration(to: .now) }
    }
    if let lostFor { onReconnect(lostFor) }
  }

  /// Records that the link is lost (from now, unless it already was); returns for how long.
  func lost() -> Duration {
    state.withLock { state in
      let since = state.lostSince ?? .now
      state.lostSince = since
      return since.duration(to: .now)
    }
  }
}
