import UploadCore

/// The bytes one part stream has sent that the server has not taken yet, and the bound that
/// keeps them few: bytes in flight sit in this process's HTTP/2 buffers, or in the server's, until
/// the server's handler takes them, so without a bound every stream holds a flow-control
/// window's worth (16 MiB on a server tuned for long links) on each side. Pure bookkeeping; the
/// caller supplies the clock's readings.
///
/// The bound follows the link: what a stream may have in flight is its share of what fills a
/// fast link for two measured round trips, never more than `budget` in all, never less than two
/// reporting intervals and a chunk. Round trips are measured from a chunk's send to the server's
/// report (`PartSpooled`, sent once the bytes are written, before any fdatasync) of its end.
public struct InFlightBytes: Sendable {
  /// The most a client keeps in flight over all its streams: 32 MiB fills 1 Gbit/s at 250 ms.
  public static let budget: Int64 = 32 << 20
  /// The fastest link the bound is sized for: 10 Gbit/s.
  public static let fastestLink: Double = 1.25e9

  /// Bytes sent and not reported taken.
  public private(set) var count: Int64 = 0
  /// The shortest round trip measured, if any.
  public private(set) var roundTrip: Duration?

  private let streams: Int64
  private let floor: Int64
  /// The bytes of each part reported so far, from where this stream began it.
  private var reported: [Int: Int64] = [:]
  /// When chunks ending at each offset of a part were sent, until reported.
  private var sentAt: [Int: [(end: Int64, at: ContinuousClock.Instant)]] = [:]

  /// A stream, one of `streams`, whose server reports taken bytes at least every `reportBytes`,
  /// sending `chunkSize` bytes at a time.
  public init(streams: Int, reportBytes: Int64, chunkSize: Int) {
    self.streams = Int64(max(1, streams))
    floor = 2 * reportBytes + Int64(chunkSize)
  }

  /// The most this stream may have in flight now. Before a round trip is measured, its share
  /// of `budget`; a stream allowed less than two reporting intervals and a chunk would wait for
  /// a report that comes only with more bytes.
  public var limit: Int64 {
    var total = Self.budget
    if let roundTrip {
      total = min(total, Int64(2 * roundTrip.inSeconds * Self.fastestLink))
    }
    return max(total / streams, floor)
  }

  /// The stream starts sending `part` at `offset`: the bytes before are already durable.
  public mutating func begin(part: Int, at offset: Int64) {
    reported[part] = offset
    sentAt[part] = []
  }

  /// The stream sent `bytes` more of `part`, ending at `end` within the part, at `time`.
  public mutating func sent(_ bytes: Int64, part: Int, end: Int64, at time: ContinuousClock.Instant) {
    count += bytes
    sentAt[part, default: []].append((end, time))
  }

  /// The server holds the first `bytes` of `part` (spooled or durable), as reported at `time`.
  public mutating func reported(part: Int, bytes: Int64, at time: ContinuousClock.Instant) {
    guard let previous = reported[part], bytes > previous else { return }
    count = max(0, count - (bytes - previous))
    reported[part] = bytes
    guard var sends = sentAt[part] else { return }
    if let sent = sends.last(where: { $0.end == bytes }) {
      let sample = sent.at.duration(to: time)
      roundTrip = roundTrip.map { min($0, sample) } ?? sample
    }
    sends.removeAll { $0.end <= bytes }
    sentAt[part] = sends
  }
}
