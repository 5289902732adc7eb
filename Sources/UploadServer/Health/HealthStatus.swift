import Foundation
import Synchronization

/// Whether the server should get traffic: not while draining, nor while its session database
/// or object store fails. Watchers hear every change.
public final class HealthStatus: Sendable {
  /// What load balancers see.
  public enum Status: Sendable, Hashable {
    case serving
    case notServing
  }

  private struct State {
    var dependenciesHealthy = true
    var draining = false
    var watchers: [UUID: AsyncStream<Status>.Continuation] = [:]

    var status: Status { dependenciesHealthy && !draining ? .serving : .notServing }
  }

  private let state = Mutex(State())

  public init() {}

  /// The current status.
  public var status: Status { state.withLock { $0.status } }

  /// Whether the server began draining.
  public var isDraining: Bool { state.withLock { $0.draining } }

  /// Records whether the database and the object store answer.
  public func setDependencies(healthy: Bool) {
    update { $0.dependenciesHealthy = healthy }
  }

  /// The server is shutting down: NOT_SERVING from now on.
  public func beginDraining() {
    update { $0.draining = true }
  }

  /// The current status, then every change, until the consumer stops.
  public func updates() -> AsyncStream<Status> {
    let (stream, continuation) = AsyncStream.makeStream(of: Status.self, bufferingPolicy: .bufferingNewest(1))
    let id = UUID()
    let current = state.withLock { state in
      state.watchers[id] = continuation
      return state.status
    }
    continuation.yield(current)
    continuation.onTermination = { [weak self] _ in
      _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
    }
    return stream
  }

  private func update(_ change: (inout State) -> Void) {
    let (changed, status, watchers) = state.withLock { state in
      let before = state.status
      change(&state)
      return (before != state.status, state.status, Array(state.watchers.values))
    }
    if changed { for watcher in watchers { watcher.yield(status) } }
  }
}
