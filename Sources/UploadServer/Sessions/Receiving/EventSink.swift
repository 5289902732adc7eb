import Synchronization
import UploadCore

/// Serializes events from the receiving loop and the commit tasks onto one response stream,
/// each with the stream's credit when it is sent.
final class EventSink: Sendable {
  private let lock = AsyncSemaphore(permits: 1)
  private let emit: @Sendable (SessionReceiver.Event, Int64) async throws -> Void
  /// The stream's credit now.
  private let credit: @Sendable () -> Int64
  /// The credit of the last event sent; 0 before the first.
  private let told = Atomic<Int64>(0)

  init(
    _ emit: @escaping @Sendable (SessionReceiver.Event, Int64) async throws -> Void,
    credit: @escaping @Sendable () -> Int64
  ) {
    self.emit = emit
    self.credit = credit
  }

  /// The credit the last event sent carried; nil before the first, which tells the client its
  /// credit and should therefore come at once.
  var lastCredit: Int64? {
    let credit = told.load(ordering: .relaxed)
    return credit > 0 ? credit : nil
  }

  func send(_ event: SessionReceiver.Event) async throws {
    try await lock.withPermit {
      let credit = credit()
      told.store(max(1, credit), ordering: .relaxed)
      try await emit(event, credit)
    }
  }
}
