import Synchronization

/// The time was up before the body answered.
struct DeadlinePassed: Error {}

/// A call into the database that ends when its answer comes or when its time is up, whichever is
/// first, even if the work inside does not notice that it was cancelled.
///
/// A task group would not do: it waits for every child before it returns, so a body parked in a
/// wait that ignores cancellation (a connection pool whose circuit breaker tripped) would hold
/// the caller past the deadline. Here the body runs in a task of its own; once the deadline
/// passes it is cancelled and left to finish unobserved.
final class Deadline<T: Sendable>: Sendable {
  private struct State {
    var continuation: CheckedContinuation<T, any Error>?
    var outcome: Result<T, any Error>?
    var tasks: [Task<Void, Never>] = []
  }

  private let state = Mutex(State())

  /// Runs `body`, and throws `DeadlinePassed` once `limit` has passed without its answer.
  static func run(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let deadline = Deadline()
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        deadline.wait(continuation)
        deadline.start(
          Task {
            do {
              deadline.finish(.success(try await body()))
            } catch {
              deadline.finish(.failure(error))
            }
          })
        deadline.start(
          Task {
            try? await Task.sleep(for: limit)
            deadline.finish(.failure(DeadlinePassed()))
          })
      }
    } onCancel: {
      deadline.finish(.failure(CancellationError()))
    }
  }

  private func wait(_ continuation: CheckedContinuation<T, any Error>) {
    let outcome = state.withLock { state in
      if state.outcome == nil { state.continuation = continuation }
      return state.outcome
    }
    if let outcome { continuation.resume(with: outcome) }
  }

  /// Keeps `task` to cancel once there is an outcome (at once if there is one already).
  private func start(_ task: Task<Void, Never>) {
    let finished = state.withLock { state in
      if state.outcome == nil { state.tasks.append(task) }
      return state.outcome != nil
    }
    if finished { task.cancel() }
  }

  /// The first outcome wins; the others are dropped.
  private func finish(_ outcome: Result<T, any Error>) {
    let (continuation, tasks): (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) = state.withLock { state in
      guard state.outcome == nil else { return (nil, []) }
      state.outcome = outcome
      defer { state.continuation = nil; state.tasks = [] }
      return (state.continuation, state.tasks)
    }
    for task in tasks { task.cancel() }
    continuation?.resume(with: outcome)
  }
}
