import ArgumentParser
import Logging
import UploadCore
import UploadServer

/// What most servers may want to set beyond the essentials: S3 details, limits, sessions,
/// replicas, metrics, draining and logs.
struct ServerOptions: ParsableArguments {
  @Option(help: "S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, else AWS).")
  var s3Endpoint: String?

  @Option(help: "S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1).")
  var s3Region: String?

  @Option(help: "Sessions idle this long expire: their upload is aborted and their spool deleted (90s, 30m, 24h, 7d).")
  var sessionTTL = DurationArgument(argument: "24h")!

  @Option(help: "The largest object a session may hold (for example 100GiB; at most 5TiB).")
  var maxObjectSize = SizeArgument(PartSizing.maximumObjectSize)

  @Option(help: "The most bytes staged on local disk; past it uploads get RESOURCE_EXHAUSTED until parts reach the object store (for example 20GiB). (default: no limit)")
  var spoolLimit: SizeArgument?

  @Flag(help: """
    Read every completed object back from the store and verify its SHA-256 before \
    CompleteSession answers, as if every client asked for it (uploader upload --verify). It costs \
    one read of each object; a verified object carries its sha256 in its metadata.
    """)
  var verifyObjects = false

  @Option(help: ArgumentHelp("""
    This replica's name among those sharing --database; each needs its own, and a restarted \
    replica should keep it (its spool holds that node's parts). (default: made on first start \
    and kept in DATA_DIR/node-id)
    """, valueName: "name"))
  var nodeID: String?

  @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics (port 0 picks a free port). (default: none)")
  var metricsListen: AddressArgument?

  @Option(help: ArgumentHelp("""
    Serve tus 1.0 resumable uploads at http://HOST:PORT/files/ and an upload page at / (port 0 \
    picks a free port). Uploads are sessions like any other, with the same tokens (Authorization: \
    Bearer), limits and notifications. (default: none)
    """, valueName: "host:port"))
  var httpListen: AddressArgument?

  @Option(help: ArgumentHelp("""
    Web origins whose pages may call the tus endpoint (CORS), comma-separated, for example \
    https://app.example.com; * allows any. The server's own upload page needs none. (default: none)
    """, valueName: "origins"))
  var httpAllowedOrigins: String?

  @Option(help: "On SIGTERM or SIGINT, running calls get this long to finish before they are cancelled (their received bytes are made durable either way).")
  var drainTimeout = DurationArgument(argument: "30s")!

  @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
  var logLevel: Logger.Level = .info

  @Option(help: "Log format: text, or json (one object per line).")
  var logFormat: UploaderServerCommand.LogFormat = .text
}
