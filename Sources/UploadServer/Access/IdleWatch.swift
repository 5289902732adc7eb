import GRPCCore
import Synchronization
import UploadCore

/// When a call started waiting for its client's next message, if it is waiting.
final class IdleWatch: Sendable {
  private let waitingSince = Mutex<ContinuousClock.Instant?>(nil)

  func beginWaiting() { waitingSince.withLock { $0 = .now } }
  func endWaiting() { waitingSince.withLock { $0 = nil } }

  /// How long the call has been waiting, or zero.
  var waited: Duration { waitingSince.withLock { $0.map { .now - $0 } ?? .zero } }

  /// Runs `body`; if it waits for a message longer than `timeout`, cancels it and throws
  /// DEADLINE_EXCEEDED.
  func enforce<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
      group.addTask { try await body() }
      group.addTask {
        let check = min(timeout / 4, .seconds(1))
        while true {
          try await Task.sleep(for: check)
          if self.waited >= timeout {
            throw UploadError(
              .idleTimeout,
              "the client sent nothing for \(timeout) (the server's idle stream timeout); what it sent before is kept")
          }
        }
      }
      defer { group.cancelAll() }
      while let result = try await group.next() {
        if let value = result { return value }
      }
      throw CancellationError()
    }
  }
}
