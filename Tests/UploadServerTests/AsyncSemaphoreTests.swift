import Synchronization
import Testing
import UploadCore

@testable import UploadServer

/// How many bodies run at once, at most, and how many finished.
private final class Concurrency: Sendable {
  let counts = Mutex((running: 0, most: 0, done: 0))
}

@Suite struct AsyncSemaphoreTests {
  @Test func neverRunsMoreThanItsPermitsAndRunsEveryone() async throws {
    let semaphore = AsyncSemaphore(permits: 3)
    let concurrency = Concurrency()
    await withTaskGroup(of: Void.self) { group in
      for _ in 0..<20 {
        group.addTask {
          try? await semaphore.withPermit { () async throws(UploadError) in
            concurrency.counts.withLock { $0.running += 1; $0.most = max($0.most, $0.running) }
            try? await Task.sleep(for: .milliseconds(5))
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
    await #expect(throws: UploadError.self) {
      try await semaphore.withPermit { () async throws(UploadError) in throw UploadError(.internal, "boom") }
    }
    let value = try await semaphore.withPermit { () async throws(UploadError) in 42 }
    #expect(value == 42)
  }
}
