/// The bytes one part stream has sent that the server has not taken yet, and the bound that
/// keeps them few: bytes in flight sit in this process's HTTP/2 buffers, or in the server's, until
/// the server's handler takes them, so without a bound every stream holds a flow-control window's
/// worth (16 MiB on a server tuned for long links) on each side. Pure bookkeeping.
///
/// The bound is the credit the server grants the stream (its share of the server's receive
/// budget, carried by every event), never more than this client's own share of `budget`. Until
/// the first event tells it, a stream sends two chunks: the server reports a stream's first chunk
/// at once. A server that reports nothing but durable progress grants no credit; the bound is
/// then the client's share, never less than two acknowledgement intervals and a chunk.
public struct InFlightBytes: Sendable {
  /// The most a client keeps in flight over all its streams: 32 MiB fills 1 Gbit/s at 250 ms.
  public static let budget: Int64 = 32 << 20
  /// The least budget the measured goodput can bring it down to: it fills 64 Mbit/s at a second.
  public static let smallestBudget: Int64 = 8 << 20

  /// The budget for a measured goodput: half a second of it, from `smallestBudget` to `budget`.
  /// Bytes in flight past the path's bandwidth-delay product only wait in buffers (this
  /// process's, the path's queues, the server's); on a lossy 100 Mbit/s path the full budget let
  /// the connections grow past what paid and the last parts finish late. Half a second of
  /// goodput covers a round trip and the server's report interval, so a budget that binds still
  /// lets the goodput, and with it the budget, grow.
  public static func budget(forGoodput bytesPerSecond: Double) -> Int64 {
    guard bytesPerSecond.isFinite, bytesPerSecond > 0 else { return budget }
    return min(budget, max(smallestBudget, Int64(bytesPerSecond / 2)))
  }

  /// Bytes sent and not reported taken.
  public private(set) var count: Int64 = 0
  /// The credit of the server's latest event; nil before the first.
  public private(set) var credit: Int64?

  private let reportBytes: Int64
  private let chunk: Int64
  private let grantsCredit: Bool
  /// The bytes of each part reported so far, from where this stream began it.
  private var reported: [Int: Int64] = [:]

  /// A stream sending `chunkSize` bytes at a time to a server that reports at
  /// least every `reportBytes` (`Session.spooled_report_bytes`, or `acknowledgement_bytes` from
  /// a server without spooled reports, which grants no credit).
  public init(reportBytes: Int64, chunkSize: Int, serverGrantsCredit: Bool) {
    self.reportBytes = max(1, reportBytes)
    chunk = Int64(max(1, chunkSize))
    grantsCredit = serverGrantsCredit
  }

  /// The most this stream may have in flight now. Never less than the server's report interval
  /// for that credit (a quarter of it, at most `reportBytes`) and a chunk, nor than two chunks,
  /// so the stream always sends enough to earn the next report.
  ///
  /// - Parameters:
  ///   - streams: the streams sharing the client's budget now (the count changes as the
  ///     connections adapt).
  ///   - budget: the client's budget now (`budget(forGoodput:)` once the goodput is measured).
  public func limit(streams: Int, budget: Int64 = Self.budget) -> Int64 {
    let share = budget / Int64(max(1, streams))
    guard grantsCredit else { return max(share, 2 * reportBytes + chunk) }
    guard let credit else { return 2 * chunk }
    return max(min(credit, share), min(reportBytes, credit / 4) + chunk, 2 * chunk)
  }

  /// The server granted `credit` with its latest event; 0 grants nothing new.
  public mutating func granted(_ credit: Int64) {
    if credit > 0 { self.credit = credit }
  }

  /// The stream starts sending `part` at `offset`: the bytes before are already durable.
  public mutating func begin(part: Int, at offset: Int64) {
    reported[part] = offset
  }

  /// The stream sent `bytes` more.
  public mutating func sent(_ bytes: Int64) {
    count += bytes
  }

  /// The server holds the first `bytes` of `part`, spooled or durable.
  public mutating func reported(part: Int, bytes: Int64) {
    guard let previous = reported[part], bytes > previous else { return }
    count = max(0, count - (bytes - previous))
    reported[part] = bytes
  }
}
