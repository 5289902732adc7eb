import Synchronization
import Testing

@testable import UploadCore

private struct Refused: Error, Equatable { var item: Int }

/// What a test's write saw: each group it was given, and whether its task was cancelled.
private final class Writes: Sendable {
  let groups = Mutex<[[Int]]>([])
  let cancelled = Mutex(false)
  /// The first write waits while this is true.
  let holding = Mutex(true)
  /// Whether each item's commit returned (true) or threw its own item's error (false).
  let outcomes = Mutex<[Int: Bool]>([:])
}

@Suite(.timeLimit(.minutes(1))) struct GroupCommitTests {
  /// A commit while a write is made waits, and every one that waited goes in the next write,
  /// together.
  @Test func writesThatArriveDuringAWriteGoTogetherInTheNext() async throws {
    let writes = Writes()
    let commits = GroupCommit<Int> { items in
      writes.groups.withLock { $0.append(items) }
      while writes.holding.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(1)) }
      return items.map { _ in .success(()) }
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await commits.commit(0) }
      while writes.groups.withLock({ $0.count }) < 1 { try await Task.sleep(for: .milliseconds(1)) }
      for item in 1...9 { group.addTask { try await commits.commit(item) } }
      while commits.waitingCount < 9 { try await Task.sleep(for: .milliseconds(1)) }
      writes.holding.withLock { $0 = false }
      try await group.waitForAll()
    }
    let groups = writes.groups.withLock { $0 }
    #expect(groups.count == 2)
    #expect(groups.first == [0])
    #expect(groups.last?.sorted() == Array(1...9))
    #expect(commits.waitingCount == 0)
  }

  /// A lone commit after the others is written at once, in a group of its own.
  @Test func aLoneCommitIsWrittenAtOnce() async throws {
    let writes = Writes()
    let commits = GroupCommit<Int> { items in
      writes.groups.withLock { $0.append(items) }
      return items.map { _ in .success(()) }
    }
    try await commits.commit(1)
    try await commits.commit(2)
    #expect(writes.groups.withLock { $0 } == [[1], [2]])
  }

  /// Each commit gets its own item's outcome, not its group's.
  @Test func eachCommitGetsItsOwnOutcome() async throws {
    let writes = Writes()
    let commits = GroupCommit<Int> { items in
      writes.groups.withLock { $0.append(items) }
      while writes.holding.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(1)) }
      return items.map { $0.isMultiple(of: 2) ? .success(()) : .failure(Refused(item: $0)) }
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      for item in 0..<6 {
        group.addTask {
          do {
            try await commits.commit(item)
            writes.outcomes.withLock { $0[item] = true }
          } catch let error as Refused {
            writes.outcomes.withLock { $0[error.item == item ? item : -1] = false }
          } catch {
            writes.outcomes.withLock { $0[-2] = false }
          }
        }
      }
      // Every item is in the write held or waiting for the next.
      while writes.groups.withLock({ $0.first?.count ?? 0 }) + commits.waitingCount < 6 {
        try await Task.sleep(for: .milliseconds(1))
      }
      writes.holding.withLock { $0 = false }
      try await group.waitForAll()
    }
    #expect(writes.outcomes.withLock { $0 } == [0: true, 1: false, 2: true, 3: false, 4: true, 5: false])
  }

  /// A caller that is cancelled while it waits does not cancel the write, its own or the others'.
  @Test func aCancelledCallerDoesNotCancelTheWrite() async throws {
    let writes = Writes()
    let commits = GroupCommit<Int> { items in
      writes.groups.withLock { $0.append(items) }
      while writes.holding.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(1)) }
      if Task.isCancelled { writes.cancelled.withLock { $0 = true } }
      return items.map { _ in .success(()) }
    }
    let caller = Task { try await commits.commit(7) }
    while writes.groups.withLock({ $0.count }) < 1 { try await Task.sleep(for: .milliseconds(1)) }
    caller.cancel()
    writes.holding.withLock { $0 = false }
    try await caller.value
    #expect(writes.groups.withLock { $0 } == [[7]])
    #expect(writes.cancelled.withLock { $0 } == false)
  }

  /// An item its write answers no outcome for fails.
  @Test func anItemWithoutAnOutcomeFails() async throws {
    let commits = GroupCommit<Int> { _ in [] }
    await #expect(throws: GroupCommitError.noOutcome) { try await commits.commit(1) }
  }
}
