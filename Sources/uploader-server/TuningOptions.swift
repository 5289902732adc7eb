import ArgumentParser
import Logging
import UploadCore
import UploadServer

/// Tuning, under "Advanced" in `--help`: windows, budgets, acknowledgement intervals, retries.
/// The defaults suit most servers; docs/OPERATIONS.md says when to change them.
struct TuningOptions: ParsableArguments {
  @Option(help: ArgumentHelp("""
    A replica silent this long is taken for dead: the parts it was receiving are reset so that \
    any replica receives them again. Replicas record a heartbeat every fifth of it.
    """, valueName: "duration"))
  var nodeLapse = DurationArgument(argument: "15s")!

  @Flag(help: """
    Hash every part on receipt even though S3 verifies each part's declared SHA-256 itself \
    (costs about 0.8 CPU seconds per GiB; the local directory store is always verified here).
    """)
  var verifyOnReceipt = false

  @Flag(help: .hidden)
  var discardObjectsForBenchmarks = false

  @Option(help: "Tries per S3 request before a part upload fails (5xx, SlowDown, connection errors).")
  var s3MaxAttempts = RetryPolicy.standard.maximumAttempts

  @Option(help: ArgumentHelp("""
    HTTP/2 flow-control window per stream and per connection: how much a client may send before \
    the server has read it. A connection moves at most one window per round trip, so give at \
    least rate x round trip: 1Gbit/s over 100ms needs 12MiB. Memory is used only while a \
    stream's reader is behind, and --receive-budget bounds it.
    """, valueName: "size"))
  var http2Window = SizeArgument(Int64(ServerConfiguration().http2TargetWindowSize))

  @Option(help: ArgumentHelp("""
    The most memory upload streams' windows may hold if every reader stalls: upload streams \
    are limited to this divided by --http2-window (and to --max-streams).
    """, valueName: "size"))
  var receiveBudget = SizeArgument(ServerConfiguration().receiveBufferBudget)

  @Option(help: ArgumentHelp("""
    The bytes all resumable upload streams together may have sent that the server has not yet \
    written: shared evenly among the open streams as credit (from 512KiB to --http2-window \
    each), which the CLI keeps within. It bounds the server's memory however many clients \
    send: 64MiB gives one client's 4 streams 16MiB each, and 64 streams 1MiB each.
    """, valueName: "size"))
  var streamCredit = SizeArgument(SessionSettings().receiveCreditBudget)

  @Option(help: ArgumentHelp("""
    Parts uploaded to S3 while they arrive, at once, for the whole server; 0 turns it off. A part \
    that finds no place is uploaded from the spool once received, one S3 request later.
    """, valueName: "count"))
  var maxForwardedParts = SessionSettings().maximumForwardedParts

  @Option(help: "Acknowledge a part's progress (fdatasync + SQLite commit) after this many bytes...")
  var ackBytes = SizeArgument(SessionSettings().acknowledgementBytes)

  @Option(help: "... or after this long, whichever comes first, and always at the end of a part.")
  var ackInterval = DurationArgument(argument: "250ms")!
}
