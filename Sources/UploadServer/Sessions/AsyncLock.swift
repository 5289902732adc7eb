import Synchronization

/// A FIFO lock for async code: holders may suspend while holding it. Not reentrant.
final class AsyncLock: Sendable {
  private struct State {
    var locked = false
    var waiters: [CheckedContinuation<Void, Never>] = []
  }

  private let state = Mutex(State())

  /// Waits until the lock is free and takes it.
  func lock() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let acquired = state.withLock { state in
        if state.locked {
          state.waiters.append(continuation)
          return false
        }
        state.locked = true
        return true
      }
      if acquired { continuation.resume() }
    }
  }

  /// Releases the lock, handing it to the longest waiter.
  func unlock() {
    let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
      if state.waiters.isEmpty {
        state.locked = false
        return nil
      }
      return state.waiters.removeFirst()
    }
    next?.resume()
  }

  /// Runs `body` holding the lock.
  func withLock<T>(_ body: () async throws -> T) async rethrows -> T {
    await lock()
    do {
      let result = try await body()
      unlock()
      return result
    } catch {
      unlock()
      throw error
    }
  }
}
