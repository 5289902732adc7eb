import Synchronization
import Testing
import UploadCore

/// How many bodies run at once, at most, and how many finished.
private final class Concurrency: Sendable {
  let counts = Mutex((running: 0, most: 0, done: 0))
}

private struct Boom: Error {}

@Suite(.timeLimit(.minutes(1))) struct AsyncSemaphoreTests {
  /// Each body holds on until three have run at once: a semaphore that lets fewer through hangs
  /// the test (its time limit fails it), one that lets more through shows it in `most`.
  @Test func runsAsManyAsItsPermitsAtOnceNeverMoreAndRunsEveryone() async throws {
    let semaphore = AsyncSemaphore(permits: 3)
    let concurrency = Concurrency()
    await withTaskGroup(of: Void.self) { group in
      for _ in 0..<20 {
        group.addTask {
          try? await semaphore.withPermit {
            concurrency.counts.withLock { $0.running += 1; $0.most = max($0.most, $0.running) }
            while concurrency.counts.withLock({ $0.most }) < 3 { try? await Task.sleep(for: .milliseconds(1)) }
            try? await Task.sleep(for: .milliseconds(2))
            concurrency.counts.withLock { $0.running -= 1; $0.done += 1 }
          }
        }
      }
    }
    let final = concurrency.counts.withLock { $0 }
    #expect(final.most == 3)
    #expect(final.done == 20 && final.running == 0)
  }

  @Test func givesThePermitBackWhenTheBodyThrows() async throws {
    let semaphore = AsyncSemaphore(permits: 1)
    await #expect(throws: Boom.self) {
      try await semaphore.withPermit { throw Boom() }
    }
    let value = try await semaphore.withPermit { 42 }
    #expect(value == 42)
  }

  @Test func aCancelledWaiterWakesAtOnceWithoutAPermit() async throws {
    let semaphore = AsyncSemaphore(permits: 1)
    try await semaphore.acquire()
    let waiter = Task { try await semaphore.acquire() }
    waiter.cancel()
    // It wakes while the permit is still held: it must not wait for a release.
    await #expect(throws: CancellationError.self) { try await waiter.value }
    semaphore.release()
    // The cancelled waiter took nothing: the permit is free again.
    try await semaphore.acquire()
    semaphore.release()
  }

  @Test func aWaiterCancelledBeforeItWaitsThrowsToo() async throws {
    let semaphore = AsyncSemaphore(permits: 1)
    try await semaphore.acquire()
    let waiter = Task {
      withUnsafeCurrentTask { $0?.cancel() }
      try await semaphore.acquire()
    }
    await #expect(throws: CancellationError.self) { try await waiter.value }
    semaphore.release()
    try await semaphore.acquire()
  }

  @Test func waitersAreServedInArrivalOrder() async throws {
    let semaphore = AsyncSemaphore(permits: 1)
    let order = Mutex<[Int]>([])
    try await semaphore.acquire()
    var waiters: [Task<Void, any Error>] = []
    for index in 0..<5 {
      let waiter = Task { @Sendable in
        try await semaphore.withPermit { order.withLock { $0.append(index) } }
      }
      waiters.append(waiter)
      // Let each one queue before the next arrives.
      while semaphore.waiting < index + 1 { await Task.yield() }
    }
    semaphore.release()
    for waiter in waiters { try await waiter.value }
    #expect(order.withLock { $0 } == [0, 1, 2, 3, 4])
  }

  @Test func boundedTaskGroupRunsAtMostItsPermits() async throws {
    let permits = AsyncSemaphore(permits: 2)
    let concurrency = Concurrency()
    try await withThrowingDiscardingTaskGroup { group in
      for _ in 0..<10 {
        _ = try await group.addTask(holding: permits) {
          concurrency.counts.withLock { $0.running += 1; $0.most = max($0.most, $0.running) }
          try await Task.sleep(for: .milliseconds(2))
          concurrency.counts.withLock { $0.running -= 1; $0.done += 1 }
        }
      }
    }
    let final = concurrency.counts.withLock { $0 }
    #expect(final.most <= 2 && final.done == 10)
  }

  @Test func aFailingTaskStopsTheBoundedGroupWithItsError() async throws {
    let permits = AsyncSemaphore(permits: 1)
    let started = Mutex(0)
    await #expect(throws: Boom.self) {
      try await withThrowingDiscardingTaskGroup { group in
        for _ in 0..<100 {
          let added = try await group.addTask(holding: permits) {
            started.withLock { $0 += 1 }
            throw Boom()
          }
          if !added { break }
        }
      }
    }
    #expect(started.withLock { $0 } < 100)
  }
}
