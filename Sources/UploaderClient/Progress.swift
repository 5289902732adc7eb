import Synchronization

/// Acknowledged bytes per part, summed for the progress display. It also tells an attempt when
/// every byte is acknowledged, so the attempt can complete the session at once.
final class Progress: Sendable {
  private struct State {
    var acknowledged: [Int: Int64] = [:]
    /// Every byte is acknowledged, or the streams ended.
    var settled = false
    var waiters: [CheckedContinuation<Void, Never>] = []
  }

  private let state = Mutex(State())
  private let total: Int64
  private let onEvent: @Sendable (UploadEngine.Event) -> Void

  init(total: Int64, onEvent: @escaping @Sendable (UploadEngine.Event) -> Void) {
    self.total = total
    self.onEvent = onEvent
  }

  /// Callers of `allAcknowledged()` still waiting.
  var waiting: Int { state.withLock { $0.waiters.count } }

  /// Records that the server holds `bytes` of `part`.
  func set(part: Int, _ bytes: Int64) {
    let (done, waiters) = state.withLock { state in
      state.acknowledged[part] = max(state.acknowledged[part] ?? 0, bytes)
      let done = state.acknowledged.values.reduce(0, +)
      return (done, done >= total ? Self.settle(&state) : [])
    }
    waiters.forEach { $0.resume() }
    onEvent(.progress(done: done, total: total))
  }

  /// Releases `allAcknowledged()`: the streams ended, whether or not every byte was acknowledged.
  func settle() {
    state.withLock { Self.settle(&$0) }.forEach { $0.resume() }
  }

  /// Returns once every byte is acknowledged or `settle()` was called.
  func allAcknowledged() async {
    await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
      let settled = state.withLock { state in
        if !state.settled { state.waiters.append(waiter) }
        return state.settled
      }
      if settled { waiter.resume() }
    }
  }

  private static func settle(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
    state.settled = true
    defer { state.waiters = [] }
    return state.waiters
  }
}
