import CSocketInfo
import Glibc
import NIOCore
import Synchronization

/// The TCP connections of one command: each gets its socket options as it is created
/// (congestion control, a short SYN retry, a small unsent queue), and stays listed until it
/// closes, so the engine can read how many bytes the server's TCP acknowledged (goodput, for
/// `ConnectionTuner`) and report what was used.
public final class SocketRegistry: Sendable {
  /// What the connections ended up using, for `--verbose` and `--json`.
  public struct Report: Sendable, Hashable {
    /// The algorithm read back from the last connection's socket (`getsockopt`), or nil before
    /// the first connection.
    public var congestionControl: String?
    /// Why the requested algorithm was not used, when it was not (not allowed, not available).
    public var fallbackReason: String?
    /// TCP connections tried so far (reconnections, and tries while the link was dark, included).
    public var connectionsOpened: Int
  }

  private struct Tracked {
    let provider: any SocketOptionProvider
    var acknowledged: UInt64
  }

  private struct State {
    var report = Report(connectionsOpened: 0)
    var open: [ObjectIdentifier: Tracked] = [:]
  }

  /// Unsent bytes a socket holds before it stops taking more. A control frame (an HTTP/2 PING or
  /// its answer) queues behind them: at the 1.3 Mbit/s of a lossy path, 256 KiB is 1.6 s, where
  /// the kernel's default (several MiB) would outlast any keepalive timeout.
  static let unsentLowWater: CInt = 256 << 10

  /// A connection whose sent bytes (data, or an HTTP/2 PING) go unacknowledged this long is
  /// dropped by the kernel (`TCP_USER_TIMEOUT`): a link that went dark without a reset is
  /// noticed within 10 s, where TCP alone retransmits with a backoff that doubles to minutes and,
  /// once the link is back, may still wait most of a minute for its next try. Random loss never
  /// comes near it: no ACK for 10 s would take a retransmission lost about six times in a row.
  static let unacknowledgedTimeoutMilliseconds: CInt = 10_000

  private let requested: CongestionControl
  private let state = Mutex(State())

  /// Connections that ask for `congestionControl`.
  public init(congestionControl: CongestionControl) {
    requested = congestionControl
  }

  /// What the connections used so far.
  public var report: Report { state.withLock { $0.report } }

  /// Sets the socket options of a new connection's `channel`; the connection never fails for
  /// them. Used as the transport's `onCreateTCPConnection`, before the connection is made.
  @Sendable public func configure(_ channel: any Channel) -> EventLoopFuture<Void> {
    guard let provider = channel as? any SocketOptionProvider else { return channel.eventLoop.makeSucceededVoidFuture() }
    let id = ObjectIdentifier(channel)
    state.withLock {
      $0.report.connectionsOpened += 1
      $0.open[id] = Tracked(provider: provider, acknowledged: 0)
    }
    channel.closeFuture.whenComplete { [self] _ in _ = state.withLock { $0.open.removeValue(forKey: id) } }
    let tcp = NIOBSDSocket.OptionLevel.tcp
    // One SYN retry: a connection tried while the link is dark fails after 3 s instead of NIO's
    // 10 s, so the next try (the transport backs off at most 1 s) starts soon after the link returns.
    let options = [
      provider.unsafeSetSocketOption(level: tcp, name: .init(rawValue: CInt(TCP_SYNCNT)), value: CInt(1)),
      provider.unsafeSetSocketOption(
        level: tcp, name: .init(rawValue: CInt(TCP_USER_TIMEOUT)), value: Self.unacknowledgedTimeoutMilliseconds),
      provider.unsafeSetSocketOption(level: tcp, name: .init(rawValue: CInt(TCP_NOTSENT_LOWAT)), value: Self.unsentLowWater),
    ].map { $0.recover { _ in } }
    var chosen = EventLoopFuture.andAllComplete(options, on: channel.eventLoop)
    if case .named(let name) = requested {
      chosen = chosen.flatMap {
        provider.unsafeSetSocketOption(level: tcp, name: .init(rawValue: CInt(TCP_CONGESTION)), value: Self.name(name))
      }.recover { [self] error in
        state.withLock { $0.report.fallbackReason = "\(name) \(Self.reason(error))" }
      }
    }
    return chosen.flatMap {
      provider.unsafeGetSocketOption(level: tcp, name: .init(rawValue: CInt(TCP_CONGESTION))) as EventLoopFuture<uploader_congestion_name>
    }.map { [self] used in
      state.withLock { $0.report.congestionControl = Self.string(used) }
    }.recover { _ in }
  }

  /// The smallest round trip the kernel measured on any open connection (its minimum, not the
  /// smoothed one, which delayed acknowledgements and a busy reader inflate even on loopback),
  /// or nil before one has measured any: the path's latency, without any queueing.
  public func smallestRoundTrip() async -> Duration? {
    let open = state.withLock { $0.open }
    var smallest: UInt32?
    for tracked in open.values {
      guard
        let info = try? await tracked.provider.unsafeGetSocketOption(
          level: .tcp, name: .init(rawValue: CInt(TCP_INFO))
        ).get() as uploader_tcp_info, info.tcpi_min_rtt > 0
      else { continue }
      smallest = min(smallest ?? .max, info.tcpi_min_rtt)
    }
    return smallest.map { .microseconds($0) }
  }

  /// Bytes the server's TCP acknowledged on every open connection since the last call (a
  /// connection seen for the first time counts from its start).
  public func acknowledgedBytesSinceLastCall() async -> Int64 {
    let open = state.withLock { $0.open }
    var total: Int64 = 0
    for (id, tracked) in open {
      guard
        let info = try? await tracked.provider.unsafeGetSocketOption(
          level: .tcp, name: .init(rawValue: CInt(TCP_INFO))
        ).get() as uploader_tcp_info
      else { continue }
      let acknowledged = info.tcpi_bytes_acked
      total += Int64(clamping: acknowledged &- min(acknowledged, tracked.acknowledged))
      state.withLock { $0.open[id]?.acknowledged = acknowledged }
    }
    return total
  }

  private static func name(_ text: String) -> uploader_congestion_name {
    var value = uploader_congestion_name()
    withUnsafeMutableBytes(of: &value.name) { bytes in
      for (index, byte) in text.utf8.prefix(15).enumerated() { bytes[index] = byte }
    }
    return value
  }

  private static func string(_ value: uploader_congestion_name) -> String {
    withUnsafeBytes(of: value.name) { bytes in String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self) }
  }

  private static func reason(_ error: any Error) -> String {
    guard let error = error as? IOError else { return "could not be set (\(error))" }
    switch error.errnoCode {
    case EPERM: return "is not allowed (net.ipv4.tcp_allowed_congestion_control)"
    case ENOENT: return "is not available in this kernel"
    default: return "could not be set (errno \(error.errnoCode))"
    }
  }
}
