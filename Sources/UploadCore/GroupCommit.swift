import Synchronization

/// Makes writes that arrive together in one go: a write that comes while another is being
/// made waits, and then goes with every other that waited, in one call of `write` (one
/// transaction, one sync to disk, where `write` is a database's).
///
/// A lone write goes at once, so nothing waits for a timer; under load the writes gather while
/// the one before them is made. Each `commit` returns once its own item is written, with that
/// item's own outcome. The writing runs in a task of its own, so a caller that is cancelled
/// does not cancel the writes of the others.
public final class GroupCommit<Item: Sendable>: Sendable {
  private struct Waiting {
    var item: Item
    var continuation: CheckedContinuation<Void, any Error>
  }

  private struct State {
    var waiting: [Waiting] = []
    var writing = false
  }

  private let write: @Sendable ([Item]) async -> [Result<Void, any Error>]
  private let state = Mutex(State())

  /// Commits through `write`, which writes the items it is given together and answers each
  /// one's outcome, in order.
  public init(write: @escaping @Sendable ([Item]) async -> [Result<Void, any Error>]) {
    self.write = write
  }

  /// Writes `item`, with the others waiting now; returns once it is written.
  ///
  /// - Throws: what writing `item` failed with.
  public func commit(_ item: Item) async throws {
    try await withCheckedThrowingContinuation { continuation in
      let starts = state.withLock { state in
        state.waiting.append(Waiting(item: item, continuation: continuation))
        defer { state.writing = true }
        return !state.writing
      }
      if starts { Task { await self.drain() } }
    }
  }

  /// Items waiting for the write in progress.
  var waitingCount: Int { state.withLock { $0.waiting.count } }

  /// Writes what waits, group after group, until nothing does.
  private func drain() async {
    while true {
      let group = state.withLock { state in
        defer { state.waiting = [] }
        if state.waiting.isEmpty { state.writing = false }
        return state.waiting
      }
      guard !group.isEmpty else { return }
      let outcomes = await write(group.map(\.item))
      for (index, waiting) in group.enumerated() {
        guard index < outcomes.count else {
          waiting.continuation.resume(throwing: GroupCommitError.noOutcome)
          continue
        }
        waiting.continuation.resume(with: outcomes[index])
      }
    }
  }
}

/// A write its group's `write` gave no outcome for.
public enum GroupCommitError: Error, Equatable {
  case noOutcome
}
