import ArgumentParser
import Foundation
import Logging
import S3
import ServiceLifecycle
import UploadCore
import UploadServer

/// `uploader-server`: parses flags, builds the server, runs it until SIGTERM or SIGINT.
@main
struct UploaderServerCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "uploader-server",
    abstract: "Receive files over gRPC and store them in S3 or a local directory.",
    discussion: """
      Every option can also be set in the environment: --data-dir as UPLOADER_DATA_DIR, \
      --s3-bucket as UPLOADER_S3_BUCKET, and so on; the command line wins.

      With no flags it listens on 127.0.0.1:50051, stages data under ./data and stores objects \
      under ./data/store/objects. With --s3-bucket it stores them in S3, using the standard \
      variables AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION \
      (or AWS_DEFAULT_REGION) and AWS_ENDPOINT_URL_S3. The bucket is checked at start.

      Examples:
        uploader-server
        uploader-server --listen 0.0.0.0:50051 --data-dir /var/lib/uploader \\
          --tls-cert server.pem --tls-key server.key --auth-tokens tokens.txt
        echo "alice $(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)" >> tokens.txt
        kill -HUP <pid>   # reloads tokens.txt
        AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \\
          uploader-server --s3-bucket uploads --s3-endpoint http://127.0.0.1:8333
      """)

  @OptionGroup(title: "Essentials") var essentials: EssentialOptions
  var listen: AddressArgument { essentials.listen }
  var dataDir: String { essentials.dataDir }
  var database: String? { essentials.database }
  var s3Bucket: String? { essentials.s3Bucket }

  @Option(help: ArgumentHelp("""
    This replica's name among those sharing --database; each needs its own, and a restarted \
    replica should keep it (its spool holds that node's parts). (default: made on first start \
    and kept in DATA_DIR/node-id)
    """, valueName: "name"))
  var nodeID: String?

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

  @Flag(help: """
    Read every completed object back from the store and verify its SHA-256 before \
    CompleteSession answers, as if every client asked for it (uploader upload --verify). It costs \
    one read of each object; a verified object carries its sha256 in its metadata.
    """)
  var verifyObjects = false

  @Flag(help: .hidden)
  var discardObjectsForBenchmarks = false

  @Option(help: "S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, else AWS).")
  var s3Endpoint: String?

  @Option(help: "S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1).")
  var s3Region: String?

  @Option(help: "Tries per S3 request before a part upload fails (5xx, SlowDown, connection errors).")
  var s3MaxAttempts = RetryPolicy.standard.maximumAttempts

  @Option(help: "Sessions idle this long expire: their upload is aborted and their spool deleted (90s, 30m, 24h, 7d).")
  var sessionTTL = DurationArgument(argument: "24h")!

  @Option(help: "The largest object a session may hold (for example 100GiB; at most 5TiB).")
  var maxObjectSize = SizeArgument(PartSizing.maximumObjectSize)

  @Option(help: "The most bytes staged on local disk; past it uploads get RESOURCE_EXHAUSTED until parts reach the object store (for example 20GiB). (default: no limit)")
  var spoolLimit: SizeArgument?

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

  @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics (port 0 picks a free port). (default: none)")
  var metricsListen: AddressArgument?

  @Option(help: "On SIGTERM or SIGINT, running calls get this long to finish before they are cancelled (their received bytes are made durable either way).")
  var drainTimeout = DurationArgument(argument: "30s")!

  @OptionGroup(title: "Notifications") var notifications: NotificationOptions

  @OptionGroup(title: "Access and limits")
  var access: AccessOptions

  @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
  var logLevel: Logger.Level = .info

  @Option(help: "Log format: text, or json (one object per line).")
  var logFormat: LogFormat = .text

  enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
  }

  /// Parses the command line completed from the environment (`UPLOADER_<OPTION>` for every
  /// option and flag, named from the options themselves), then runs.
  static func main() async {
    let names = [derivedNames, EssentialOptions.derivedNames, AccessOptions.derivedNames, NotificationOptions.derivedNames]
    var environment = ProcessInfo.processInfo.environment
    // The name operators expect for a database address, beside the derived UPLOADER_DATABASE.
    if environment["UPLOADER_DATABASE"] == nil { environment["UPLOADER_DATABASE"] = environment["UPLOADER_DATABASE_URL"] }
    let arguments = EnvironmentOptions.merge(
      Array(CommandLine.arguments.dropFirst()), names: names.flatMap(\.options), flags: names.flatMap(\.flags),
      environment: environment)
    do {
      var command = try parseAsRoot(arguments)
      if var command = command as? AsyncParsableCommand {
        try await command.run()
      } else {
        try command.run()
      }
    } catch {
      exit(withError: error)
    }
  }

  func validate() throws {
    guard maxObjectSize.bytes > 0, maxObjectSize.bytes <= PartSizing.maximumObjectSize else {
      throw ValidationError("--max-object-size \"\(maxObjectSize.defaultValueDescription)\" is not a size from 1 byte to 5TiB, such as 100GiB")
    }
    if let spoolLimit, spoolLimit.bytes <= 0 {
      throw ValidationError("--spool-limit must be more than 0, such as 20GiB")
    }
    guard (64 << 10...1 << 30).contains(http2Window.bytes) else {
      throw ValidationError("--http2-window \"\(http2Window.defaultValueDescription)\" is not a size from 64KiB to 1GiB, such as 16MiB")
    }
    guard receiveBudget.bytes >= http2Window.bytes else {
      throw ValidationError(
        "--receive-budget \"\(receiveBudget.defaultValueDescription)\" is not a size of at least one window (--http2-window \(http2Window.defaultValueDescription)), such as 4GiB")
    }
    guard streamCredit.bytes >= SessionSettings().minimumStreamCredit else {
      throw ValidationError("--stream-credit \"\(streamCredit.defaultValueDescription)\" is less than 512KiB; give a size such as 64MiB")
    }
    guard maxForwardedParts >= 0 else { throw ValidationError("--max-forwarded-parts must be 0 or more") }
    guard ackBytes.bytes >= 64 << 10 else {
      throw ValidationError("--ack-bytes \"\(ackBytes.defaultValueDescription)\" is less than 64KiB; give a size such as 4MiB")
    }
    if let database {
      do {
        _ = try PostgresURL(database)
      } catch {
        throw ValidationError("--database: \(error.message)")
      }
    }
    if let nodeID, nodeID.isEmpty || nodeID.utf8.count > 128 || nodeID.contains(where: \.isWhitespace) {
      throw ValidationError("--node-id must be 1 to 128 characters without spaces")
    }
    guard nodeLapse.duration >= .seconds(1) else {
      throw ValidationError("--node-lapse must be at least 1s, such as 15s")
    }
    guard s3MaxAttempts >= 1 else { throw ValidationError("--s3-max-attempts must be at least 1") }
    if s3Bucket == nil, s3Endpoint != nil || s3Region != nil {
      throw ValidationError("--s3-endpoint and --s3-region need --s3-bucket")
    }
  }

  func run() async throws {
    var configuration = ServerConfiguration()
    (configuration.host, configuration.port) = (listen.host, listen.port)
    configuration.dataDirectory = dataDir
    configuration.database = try database.map { try PostgresURL($0) }
    configuration.nodeID = nodeID
    configuration.sessions.nodeLapse = nodeLapse.duration
    if let metricsListen {
      (configuration.metricsHost, configuration.metricsPort) = (metricsListen.host, metricsListen.port)
    }
    let ttl = sessionTTL.duration
    configuration.sessions.sessionTTL = ttl
    configuration.sessions.expiryCheckInterval = min(.seconds(60), max(.seconds(1), ttl / 4))
    configuration.sessions.maximumObjectSize = maxObjectSize.bytes
    if let spoolLimit { configuration.spoolLimit = spoolLimit.bytes }
    configuration.http2TargetWindowSize = Int(http2Window.bytes)
    configuration.receiveBufferBudget = receiveBudget.bytes
    configuration.sessions.receiveCreditBudget = streamCredit.bytes
    configuration.sessions.maximumStreamCredit = http2Window.bytes
    configuration.sessions.maximumForwardedParts = maxForwardedParts
    configuration.sessions.acknowledgementBytes = ackBytes.bytes
    configuration.sessions.acknowledgementInterval = ackInterval.duration
    configuration.discardsObjects = discardObjectsForBenchmarks
    configuration.sessions.verifiesOnReceipt = verifyOnReceipt
    configuration.sessions.verifiesCompletedObjects = verifyObjects
    configuration.notifications = notifications.settings
    if let s3Bucket {
      do {
        configuration.s3 = try S3Configuration.fromEnvironment(
          ProcessInfo.processInfo.environment, bucket: s3Bucket, endpoint: s3Endpoint, region: s3Region)
      } catch {
        throw ValidationError(error.message)
      }
      configuration.s3?.retryPolicy.maximumAttempts = s3MaxAttempts
    }

    try access.apply(to: &configuration)
    do {
      try configuration.validate()
    } catch {
      throw ValidationError(error.message)
    }

    let drain = drainTimeout.duration
    let (level, format) = (logLevel, logFormat)
    LoggingSystem.bootstrap { label in
      switch format {
      case .json:
        return JSONLogHandler(label: label, level: level)
      case .text:
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
      }
    }
    let logger = Logger(label: "uploader-server")
    logger.debug("malloc tuned at load time: \(MemoryTuning.isApplied)")
    let server: UploaderServer
    do {
      server = try await UploaderServer(configuration: configuration, logger: logger)
    } catch {
      logger.critical("cannot start: \(error)")
      throw ExitCode(1)
    }
    var group = ServiceGroupConfiguration(
      services: [.init(service: server), .init(service: TokenReloader(access: server.access, logger: logger))],
      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    group.maximumGracefulShutdownDuration = drain
    try await ServiceGroup(configuration: group).run()
    logger.notice("stopped")
  }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
