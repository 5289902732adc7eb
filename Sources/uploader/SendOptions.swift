import ArgumentParser
import UploadCore

/// How `upload` and `resume` send: streams, connections and rate.
struct SendOptions: ParsableArguments {
  @Option(help: "Parts sent at the same time.")
  var parallel = 4

  @Option(help: """
    TCP connections the parts are spread over. (default: one per part sent at the same time, so \
    a loss on one connection does not stall the others, and each has its own flow-control window)
    """)
  var connections: Int?

  @Option(help: "At most this many bytes per second for the whole command (a directory's files share it), such as 512KiB or 20MiB.")
  var limitRate: String?

  /// `--limit-rate` in bytes per second, or nil for no limit.
  var rateLimit: Int64? { limitRate.flatMap(ByteSize.parse) }

  /// The connections to open.
  var connectionCount: Int { connections ?? parallel }

  func validate() throws {
    if let limitRate, (ByteSize.parse(limitRate) ?? 0) <= 0 {
      throw ValidationError("--limit-rate \"\(limitRate)\" is not a rate such as 20MiB (per second)")
    }
    guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be from 1 to 64") }
    if let connections, !(1...parallel).contains(connections) {
      throw ValidationError("--connections must be from 1 to --parallel (\(parallel))")
    }
  }
}
