/// The loop behind the server's background work (abort retries, notification delivery): a round
/// of work runs at once when nudged, and on a tick every `interval` once the delay the last round
/// asked for has passed, until the task is cancelled.
final class WakeupLoop: Sendable {
  private enum Wakeup { case tick, nudge }

  private let interval: Duration
  private let wakeups: AsyncStream<Wakeup>.Continuation
  private let signals: AsyncStream<Wakeup>

  /// - Parameter interval: how often a round runs when nothing nudges the loop.
  init(interval: Duration) {
    self.interval = interval
    // A few wake-ups are kept: a nudge arriving while a round runs starts the next one.
    (signals, wakeups) = AsyncStream.makeStream(of: Wakeup.self, bufferingPolicy: .bufferingNewest(8))
  }

  /// Asks for a round at once: there is new work.
  func nudge() {
    wakeups.yield(.nudge)
  }

  /// Runs rounds of `round` until the task is cancelled. Each round returns how long ticks wait
  /// before the next one (`.zero` for the next tick); a nudge never waits.
  func run(_ round: () async -> Duration) async {
    await withDiscardingTaskGroup { group in
      group.addTask { [wakeups, interval] in
        while (try? await Task.sleep(for: interval)) != nil { wakeups.yield(.tick) }
      }
      var notBefore = ContinuousClock.now
      for await wakeup in signals {
        if Task.isCancelled { break }
        guard wakeup == .nudge || ContinuousClock.now >= notBefore else { continue }
        let wait = await round()
        notBefore = ContinuousClock.now + wait
      }
      group.cancelAll()
    }
  }
}
