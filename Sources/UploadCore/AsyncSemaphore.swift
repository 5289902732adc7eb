import Synchronization

/// A counting semaphore for tasks, first come first served, whose waiters wake on cancellation.
/// With one permit it is the lock for async code that suspends while holding it.
///
/// `acquire` throws `CancellationError` when the waiting task is cancelled, and then holds no
/// permit. Every successful `acquire` needs one `release`; `withPermit` pairs them.
public final class AsyncSemaphore: Sendable {
  private struct State {
    var permits: Int
    var nextID = 0
    /// Waiting tasks by id; nil until the task has suspended.
    var waiters: [Int: CheckedContinuation<Void, any Error>?] = [:]
    /// Waiting ids in arrival order (ids of cancelled waiters are skipped).
    var queue: [Int] = []
    /// Ids granted a permit before they had suspended.
    var granted: Set<Int> = []
  }

  private let state: Mutex<State>

  /// A semaphore with `permits` permits.
  public init(permits: Int) {
    precondition(permits > 0)
    state = Mutex(State(permits: permits))
  }

  /// Waits for a permit and takes it.
  ///
  /// - Throws: `CancellationError` when the task is cancelled before it gets one (a cancelled
  ///   task gets none, even when one is free).
  public func acquire() async throws(CancellationError) {
    if Task.isCancelled { throw CancellationError() }
    let id = state.withLock { state -> Int? in
      if state.permits > 0 && state.queue.isEmpty {
        state.permits -= 1
        return nil
      }
      state.nextID += 1
      state.waiters[state.nextID] = .some(nil)
      state.queue.append(state.nextID)
      return state.nextID
    }
    guard let id else { return }
    do {
      try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
          let outcome = state.withLock { state -> Bool? in
            if state.granted.remove(id) != nil { return true }
            guard state.waiters[id] != nil else { return false }
            state.waiters[id] = continuation
            return nil
          }
          switch outcome {
          case true?: continuation.resume()
          case false?: continuation.resume(throwing: CancellationError())
          case nil: break
          }
        }
      } onCancel: {
        let waiting = state.withLock { state -> CheckedContinuation<Void, any Error>?? in
          state.waiters.removeValue(forKey: id)
        }
        if case .some(.some(let continuation)) = waiting { continuation.resume(throwing: CancellationError()) }
      }
    } catch {
      throw CancellationError()
    }
  }

  /// The number of tasks waiting for a permit.
  public var waiting: Int { state.withLock { $0.waiters.count } }

  /// Gives a permit back, to the longest waiter if there is one.
  public func release() {
    let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
      while !state.queue.isEmpty {
        let id = state.queue.removeFirst()
        guard let waiter = state.waiters.removeValue(forKey: id) else { continue }
        guard let continuation = waiter else {
          state.granted.insert(id)
          return nil
        }
        return continuation
      }
      state.permits += 1
      return nil
    }
    next?.resume()
  }

  /// Runs `body` holding a permit.
  ///
  /// - Throws: `CancellationError` when cancelled while waiting, or what `body` throws.
  public func withPermit<T>(_ body: () async throws -> T) async throws -> T {
    try await acquire()
    defer { release() }
    return try await body()
  }
}

extension AsyncSemaphore {
  /// Runs `body` holding a permit, for code whose errors are `UploadError`s: a caller cancelled
  /// while it waits gets `cancelled`. Runs on the caller's actor, so an actor may pass a body
  /// that uses its state.
  nonisolated(nonsending) public func withPermit<T>(
    orIfCancelled cancelled: @autoclosure () -> UploadError, _ body: () async throws(UploadError) -> T
  ) async throws(UploadError) -> T {
    do {
      try await acquire()
    } catch {
      throw cancelled()
    }
    defer { release() }
    return try await body()
  }
}
