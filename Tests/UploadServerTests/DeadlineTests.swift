import Synchronization
import Testing

@testable import UploadServer

@Suite struct DeadlineTests {
  @Test func theAnswerWinsWhenItComesInTime() async throws {
    #expect(try await Deadline.run(.seconds(30)) { 42 } == 42)
    await #expect(throws: CancellationError.self) {
      _ = try await Deadline<Int>.run(.seconds(30)) { throw CancellationError() }
    }
  }

  /// A body that does not notice cancellation (as a connection pool's wait may not) no longer
  /// holds its caller: the deadline ends the call, and the body finishes later, unobserved.
  @Test func theDeadlineEndsACallWhoseBodyIgnoresCancellation() async throws {
    let gate = Gate()
    let finished = Mutex(false)
    await #expect(throws: DeadlinePassed.self) {
      _ = try await Deadline<Int>.run(.milliseconds(50)) {
        await gate.wait()
        finished.withLock { $0 = true }
        return 1
      }
    }
    #expect(!finished.withLock { $0 }, "the call returned only after its body did")
    gate.open()
  }

  /// A wait that cancellation does not end.
  final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func wait() async {
      await withCheckedContinuation { continuation in
        let open = state.withLock { state in
          if !state.open { state.waiter = continuation }
          return state.open
        }
        if open { continuation.resume() }
      }
    }

    func open() {
      state.withLock { state in
        state.open = true
        defer { state.waiter = nil }
        return state.waiter
      }?.resume()
    }
  }

  @Test func cancellingTheCallerEndsTheCall() async throws {
    let call = Task {
      try await Deadline<Int>.run(.seconds(60)) {
        for await _ in AsyncStream<Void>.makeStream().stream {}
        return 1
      }
    }
    call.cancel()
    await #expect(throws: CancellationError.self) { _ = try await call.value }
  }
}
