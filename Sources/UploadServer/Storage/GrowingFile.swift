import Synchronization

/// How far a spool file has been written, for a reader that follows the writer: the part's
/// upload to the object store while its bytes are still arriving.
///
/// The writer calls `advance(to:)` after each write and `abandon()` when the bytes will not
/// come (the stream left the part, the part was reset or closed); a reader awaits
/// `waitUntil(_:)` before reading up to an offset.
public final class GrowingFile: Sendable {
  private struct State {
    var written: Int64 = 0
    var abandoned = false
    var waiters: [(bytes: Int64, continuation: CheckedContinuation<Void, any Error>)] = []
  }

  private let state = Mutex(State())

  /// A file with nothing written yet.
  public init() {}

  /// How far the file is written.
  var written: Int64 { state.withLock { $0.written } }
  /// Readers waiting for bytes not written yet.
  var waitingReaders: Int { state.withLock { $0.waiters.count } }

  /// The file holds its first `bytes` bytes.
  public func advance(to bytes: Int64) {
    let ready = state.withLock { state in
      state.written = max(state.written, bytes)
      let written = state.written
      let ready = state.waiters.filter { $0.bytes <= written }
      state.waiters.removeAll { $0.bytes <= written }
      return ready
    }
    for waiter in ready { waiter.continuation.resume() }
  }

  /// No more bytes will come: every reader waiting, now or later, gets `CancellationError`.
  public func abandon() {
    let waiting = state.withLock { state in
      state.abandoned = true
      defer { state.waiters = [] }
      return state.waiters
    }
    for waiter in waiting { waiter.continuation.resume(throwing: CancellationError()) }
  }

  /// Returns once the file holds `bytes` bytes.
  ///
  /// - Throws: `CancellationError` once the file is abandoned. A waiting reader is not woken by
  ///   the cancellation of its task; whoever cancels it abandons the file too.
  public func waitUntil(_ bytes: Int64) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
      let outcome: Result<Void, any Error>? = state.withLock { state in
        if state.abandoned { return .failure(CancellationError()) }
        if state.written >= bytes { return .success(()) }
        state.waiters.append((bytes, continuation))
        return nil
      }
      if let outcome { continuation.resume(with: outcome) }
    }
  }
}
