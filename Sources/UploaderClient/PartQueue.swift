import Synchronization

/// The parts an attempt still has to send, handed out one at a time to its streams.
final class PartQueue: Sendable {
  private let remaining: Mutex<ArraySlice<(JournalPart, Int64)>>

  /// - Parameter parts: each part with the offset to send it from, in sending order.
  init(_ parts: [(JournalPart, Int64)]) {
    remaining = Mutex(parts[...])
  }

  /// Whether parts are left to hand out.
  var hasParts: Bool { remaining.withLock { !$0.isEmpty } }

  /// The next part and the offset to send it from, or nil when every part has been taken.
  func next() -> (JournalPart, Int64)? {
    remaining.withLock { $0.popFirst() }
  }
}
