import Synchronization

/// The loop behind the server's background work (abort retries, notification delivery): a round
/// of work runs at once when nudged, and on a tick every `interval` once the delay the last round
/// asked for has passed, until the task is cancelled.
final class WakeupLoop: Sendable {
  private let interval: Duration
  /// Set by `nudge` until the loop takes it, so a nudge is never lost among coalesced wake-ups.
  private let nudged = Atomic<Bool>(false)
  private let wakeups: AsyncStream<Void>.Continuation
  private let signals: AsyncStream<Void>

  /// - Parameter interval: how often a round runs when nothing nudges the loop.
  init(interval: Duration) {
    self.interval = interval
    // One wake-up is kept: whatever arrives while a round runs (ticks, nudges) starts at most
    // one more, instead of a round for each.
    (signals, wakeups) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
  }

  /// Asks for a round at once: there is new work.
  func nudge() {
    nudged.store(true, ordering: .sequentiallyConsistent)
    wakeups.yield()
  }

  /// Runs rounds of `round` until the task is cancelled. Each round returns how long ticks wait
  /// before the next one (`.zero` for the next tick); a nudge never waits.
  func run(_ round: () async -> Duration) async {
    await withDiscardingTaskGroup { group in
      group.addTask { [wakeups, interval] in
        while (try? await Task.sleep(for: interval)) != nil { wakeups.yield() }
      }
      var notBefore = ContinuousClock.now
      for await _ in signals {
        if Task.isCancelled { break }
        let wasNudged = nudged.exchange(false, ordering: .sequentiallyConsistent)
        guard wasNudged || ContinuousClock.now >= notBefore else { continue }
        let wait = await round()
        notBefore = ContinuousClock.now + wait
      }
      group.cancelAll()
    }
  }
}
