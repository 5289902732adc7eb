/// The bytes one part stream has sent that the server has not acknowledged yet, and the bound
/// that keeps them few: the bytes a stream has in flight sit in this process's HTTP/2 buffers
/// until the server's flow-control window takes them (16 MiB a stream on a server tuned for long
/// links), so without a bound every stream holds a window's worth of memory. Pure bookkeeping.
public struct InFlightBytes: Sendable {
  /// The client's bytes in flight, over all its streams: 32 MiB fills a 1 Gbit/s path at 250 ms.
  public static let budget: Int64 = 32 << 20

  /// Bytes sent and not acknowledged.
  public private(set) var count: Int64 = 0
  /// The bytes of each part acknowledged so far, from where this stream began it.
  private var acknowledged: [Int: Int64] = [:]

  /// Nothing in flight.
  public init() {}

  /// The most one of `streams` streams may have in flight: its share of `budget`, but never less
  /// than two acknowledgement intervals and a chunk (the server acknowledges every
  /// `acknowledgementBytes`, so a stream allowed less would wait for an acknowledgement that
  /// comes only with more bytes).
  public static func limit(streams: Int, acknowledgementBytes: Int64, chunkSize: Int) -> Int64 {
    max(budget / Int64(max(1, streams)), 2 * acknowledgementBytes + Int64(chunkSize))
  }

  /// The stream starts sending `part` at `offset`: the bytes before are already durable.
  public mutating func begin(part: Int, at offset: Int64) {
    acknowledged[part] = offset
  }

  /// The stream sent `bytes` more.
  public mutating func sent(_ bytes: Int64) {
    count += bytes
  }

  /// The server holds `receivedBytes` of `part` durably.
  public mutating func acknowledged(part: Int, receivedBytes: Int64) {
    guard let previous = acknowledged[part], receivedBytes > previous else { return }
    count = max(0, count - (receivedBytes - previous))
    acknowledged[part] = receivedBytes
  }
}
