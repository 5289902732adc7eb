import UploadCore

import Synchronization

/// A counting semaphore for tasks: `withPermit` waits (first come, first served) while all
/// permits are taken. A waiting task is not woken by cancellation; holders always give their
/// permit back, so it gets one and then sees that it was cancelled.
final class AsyncSemaphore: Sendable {
  private struct State {
    var permits: Int
    var waiters: [CheckedContinuation<Void, Never>] = []
  }

  private let state: Mutex<State>

  /// A semaphore with `permits` permits.
  init(permits: Int) {
    precondition(permits > 0)
    state = Mutex(State(permits: permits))
  }

  /// Runs `body` holding a permit.
  func withPermit<T>(_ body: () async throws(UploadError) -> T) async throws(UploadError) -> T {
    await acquire()
    defer { release() }
    return try await body()
  }

  private func acquire() async {
    await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
      let granted = state.withLock { state in
        guard state.permits > 0 else {
          state.waiters.append(waiter)
          return false
        }
        state.permits -= 1
        return true
      }
      if granted { waiter.resume() }
    }
  }

  private func release() {
    let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
      guard !state.waiters.isEmpty else {
        state.permits += 1
        return nil
      }
      return state.waiters.removeFirst()
    }
    next?.resume()
  }
}
