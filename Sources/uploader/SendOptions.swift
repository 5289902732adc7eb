import ArgumentParser
import UploadCore
import UploaderClient

/// How `upload` and `resume` send: streams, connections, congestion control and rate.
struct SendOptions: ParsableArguments {
  @Option(help: """
    Parts sent at the same time, each on its own connection; fixes the number. (default: 4 to \
    start with, then more while they bring more throughput, up to --max-connections)
    """)
  var parallel: Int?

  @Option(help: """
    Without --parallel or --connections: the most connections to grow to. A path that loses \
    packets holds each TCP connection to a fraction of its capacity, so the upload opens more \
    while the total grows, and goes back when more stop helping.
    """)
  var maxConnections = 64

  @Option(help: """
    The number of TCP connections, fixed. With --parallel, that many parts are spread over \
    these connections.
    """)
  var connections: Int?

  @Option(help: ArgumentHelp("""
    The TCP congestion control to ask for: bbr (the default) keeps its pace through random loss, \
    where cubic, most systems' default, slows down at every lost packet. Falls back to the \
    system's default, silently, where the kernel does not allow it (see \
    net.ipv4.tcp_allowed_congestion_control); 'system' never asks.
    """, valueName: "name|system"))
  var congestionControl = "bbr"

  @Option(help: "At most this many bytes per second for the whole command (a directory's files share it), such as 512KiB or 20MiB.")
  var limitRate: String?

  /// `--limit-rate` in bytes per second, or nil for no limit.
  var rateLimit: Int64? { limitRate.flatMap(ByteSize.parse) }

  /// Part streams to start with.
  var startingStreams: Int { parallel ?? connections ?? 4 }

  /// Whether the connections grow and shrink with the measured goodput: unless a count was given.
  var adapts: Bool { parallel == nil && connections == nil && maxConnections > startingStreams }

  /// The connections to open when they do not adapt.
  var connectionCount: Int { connections ?? startingStreams }

  /// `--congestion-control`, parsed.
  var congestion: CongestionControl { CongestionControl(argument: congestionControl) ?? .preferred }

  func validate() throws {
    if let limitRate, (ByteSize.parse(limitRate) ?? 0) <= 0 {
      throw ValidationError("--limit-rate \"\(limitRate)\" is not a rate such as 20MiB (per second)")
    }
    if let parallel, !(1...64).contains(parallel) { throw ValidationError("--parallel must be from 1 to 64") }
    guard (1...256).contains(maxConnections) else { throw ValidationError("--max-connections must be from 1 to 256") }
    if let connections {
      guard (1...64).contains(connections) else { throw ValidationError("--connections must be from 1 to 64") }
      if let parallel, connections > parallel {
        throw ValidationError("--connections (\(connections)) must not exceed --parallel (\(parallel)): a connection with no part to send is of no use")
      }
    }
    guard CongestionControl(argument: congestionControl) != nil else {
      throw ValidationError(
        "--congestion-control \"\(congestionControl)\" is not an algorithm's name (such as bbr or cubic) or 'system'")
    }
  }
}
