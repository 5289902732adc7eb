/// How a server shares the bytes its upload streams may keep in flight: one budget, split evenly
/// among the streams open now, never below a floor nor above a ceiling. Bytes a client has sent
/// and the server has not yet written sit in the server's memory (HTTP/2 and gRPC buffers), so
/// without a shared budget that memory grows with every client; with it, the server holds about
/// `budget` whatever the number of streams (until the floor is reached). Pure arithmetic.
public struct ReceiveCredit: Sendable, Hashable {
  /// The bytes shared by all open streams.
  public var budget: Int64
  /// The least a stream is granted: enough for a report interval and a chunk.
  public var minimum: Int64
  /// The most a stream is granted: more could not be in flight anyway (the HTTP/2 window).
  public var maximum: Int64
  /// The streams open now.
  public private(set) var streams = 0

  /// Shares `budget` among streams, each granted `minimum...maximum`.
  public init(budget: Int64, minimum: Int64, maximum: Int64) {
    self.budget = budget
    self.minimum = minimum
    self.maximum = max(minimum, maximum)
  }

  /// A stream opened.
  public mutating func open() {
    streams += 1
  }

  /// A stream ended.
  public mutating func close() {
    streams = max(0, streams - 1)
  }

  /// What each open stream may have in flight now.
  public var perStream: Int64 {
    min(maximum, max(minimum, budget / Int64(max(1, streams))))
  }

  /// How often a stream granted `credit` reports what it has taken, at most every
  /// `longestInterval`: a quarter of its credit, so its client never waits on a report while
  /// three quarters of the credit are still in flight.
  public static func reportInterval(credit: Int64, longestInterval: Int64) -> Int64 {
    max(1, min(longestInterval, credit / 4))
  }
}
