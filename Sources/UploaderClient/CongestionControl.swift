/// The TCP congestion control the client's connections ask for.
///
/// Loss-based algorithms (cubic, what most machines run) slow down on every lost packet, so a
/// path that drops 1% of packets at a 100 ms round trip carries about 1.3 Mbit/s per connection
/// whatever its capacity; BBR models the path instead and carries 35 Mbit/s there (measured,
/// docs/BENCHMARKS.md). The kernel lets a process choose per socket among the algorithms in
/// `net.ipv4.tcp_allowed_congestion_control`; one it does not allow (or has not loaded) falls back
/// to the system's default without failing the connection.
public enum CongestionControl: Sendable, Hashable, CustomStringConvertible {
  /// The system's default; no socket option is set.
  case system
  /// The named algorithm (`bbr`, `cubic`, `reno`, ...), where the kernel allows it.
  case named(String)

  /// What the CLI asks for unless told otherwise.
  public static let preferred = CongestionControl.named("bbr")

  /// `system`, or an algorithm's name (at most 15 ASCII letters, digits, `_` or `-`); nil for
  /// anything else.
  public init?(argument: String) {
    if argument == "system" {
      self = .system
      return
    }
    guard (1...15).contains(argument.utf8.count),
      argument.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || (48...57).contains($0) || (97...122).contains($0) })
    else { return nil }
    self = .named(argument)
  }

  public var description: String {
    switch self {
    case .system: "system"
    case .named(let name): name
    }
  }
}
