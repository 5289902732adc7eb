import ArgumentParser
import UploadCore
import UploaderClient

/// How `upload` and `resume` send: streams, connections, congestion control and rate. An upload
/// keeps the ones given (`SendingChoices`), and `resume` sends the same way unless told otherwise.
struct SendOptions: ParsableArguments {
  @Option(help: """
    Parts sent at the same time, each on its own connection; fixes the number. (default: 4 to \
    start with, then more while they bring more throughput, up to --max-connections)
    """)
  var parallel: Int?

  @Option(help: """
    Without --parallel or --connections: the most connections to grow to. A path that loses \
    packets holds each TCP connection to a fraction of its capacity, so the upload opens more \
    while the total grows, and goes back when more stop helping. (default: 64)
    """)
  var maxConnections: Int?

  @Option(help: """
    The number of TCP connections, fixed. With --parallel, that many parts are spread over \
    these connections.
    """)
  var connections: Int?

  @Option(help: ArgumentHelp("""
    The TCP congestion control to ask for: bbr (the default) keeps its pace through random loss, \
    where cubic, most systems' default, slows down at every lost packet. Falls back to the \
    system's default, silently, where the kernel does not allow it (see \
    net.ipv4.tcp_allowed_congestion_control); 'system' never asks. (default: bbr)
    """, valueName: "name|system"))
  var congestionControl: String?

  @Option(help: "At most this many bytes per second for the whole command (a directory's files share it), such as 512KiB or 20MiB.")
  var limitRate: String?

  @Option(help: ArgumentHelp("""
    How long to keep trying while the server cannot be reached or keeps failing, counted from \
    the last progress, such as 30m or 12h; 'forever' tries until Ctrl-C. (default: 12 attempts \
    with backoff, about 2.5 minutes, and 5 minutes after a link that worked was lost)
    """, valueName: "duration|forever"))
  var retryFor: String?

  /// `--retry-for`, parsed: nil for the default.
  var retryWindow: Duration? {
    guard let retryFor else { return nil }
    return retryFor == "forever" ? .seconds(Int64.max / 2_000_000_000) : DurationText.parse(retryFor)
  }

  /// The options given, to keep with the upload.
  var choices: SendingChoices {
    SendingChoices(
      parallel: parallel, connections: connections, maxConnections: maxConnections, limitRate: limitRate,
      congestionControl: congestionControl)
  }

  /// These options over `saved` (an upload's, from the journal): what is given here wins.
  func over(_ saved: SendingChoices) -> SendOptions {
    let merged = saved.overridden(by: choices)
    var options = self
    options.parallel = merged.parallel
    options.connections = merged.connections
    options.maxConnections = merged.maxConnections
    options.limitRate = merged.limitRate
    options.congestionControl = merged.congestionControl
    return options
  }

  /// The most connections to grow to.
  var connectionLimit: Int { maxConnections ?? 64 }

  /// `--limit-rate` in bytes per second, or nil for no limit.
  var rateLimit: Int64? { limitRate.flatMap(ByteSize.parse) }

  /// Part streams to start with.
  var startingStreams: Int { parallel ?? connections ?? 4 }

  /// Whether the connections grow and shrink with the measured goodput: unless a count was given.
  var adapts: Bool { parallel == nil && connections == nil && connectionLimit > startingStreams }

  /// The connections to open when they do not adapt.
  var connectionCount: Int { connections ?? startingStreams }

  /// `--congestion-control`, parsed.
  var congestion: CongestionControl { CongestionControl(argument: congestionControl ?? "bbr") ?? .preferred }

  func validate() throws {
    if let limitRate, (ByteSize.parse(limitRate) ?? 0) <= 0 {
      throw ValidationError("--limit-rate \"\(limitRate)\" is not a rate such as 20MiB (per second)")
    }
    if let retryFor, retryWindow == nil {
      throw ValidationError("--retry-for \"\(retryFor)\" is not a duration such as 30m or 12h, or 'forever'")
    }
    if let parallel, !(1...64).contains(parallel) { throw ValidationError("--parallel must be from 1 to 64") }
    guard (1...256).contains(connectionLimit) else { throw ValidationError("--max-connections must be from 1 to 256") }
    if let connections {
      guard (1...64).contains(connections) else { throw ValidationError("--connections must be from 1 to 64") }
      if let parallel, connections > parallel {
        throw ValidationError("--connections (\(connections)) must not exceed --parallel (\(parallel)): a connection with no part to send is of no use")
      }
    }
    if let congestionControl, CongestionControl(argument: congestionControl) == nil {
      throw ValidationError(
        "--congestion-control \"\(congestionControl)\" is not an algorithm's name (such as bbr or cubic) or 'system'")
    }
  }
}
