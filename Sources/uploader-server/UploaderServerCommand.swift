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
      (or AWS_DEFAULT_REGION), AWS_ENDPOINT_URL_S3 and AWS_CA_BUNDLE (a PEM file of the CAs to \
      trust for an HTTPS endpoint with a private CA). The bucket is checked at start.

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

  @OptionGroup(title: "Server") var general: ServerOptions
  @OptionGroup(title: "Notifications") var notifications: NotificationOptions

  @OptionGroup(title: "Access and limits")
  var access: AccessOptions

  @OptionGroup(title: "Advanced") var tuning: TuningOptions

  var s3Endpoint: String? { general.s3Endpoint }
  var s3Region: String? { general.s3Region }
  var sessionTTL: DurationArgument { general.sessionTTL }
  var maxObjectSize: SizeArgument { general.maxObjectSize }
  var spoolLimit: SizeArgument? { general.spoolLimit }
  var verifyObjects: Bool { general.verifyObjects }
  var nodeID: String? { general.nodeID }
  var metricsListen: AddressArgument? { general.metricsListen }
  var drainTimeout: DurationArgument { general.drainTimeout }
  var logLevel: Logger.Level { general.logLevel }
  var logFormat: LogFormat { general.logFormat }
  var nodeLapse: DurationArgument { tuning.nodeLapse }
  var verifyOnReceipt: Bool { tuning.verifyOnReceipt }
  var discardObjectsForBenchmarks: Bool { tuning.discardObjectsForBenchmarks }
  var s3MaxAttempts: Int { tuning.s3MaxAttempts }
  var http2Window: SizeArgument { tuning.http2Window }
  var receiveBudget: SizeArgument { tuning.receiveBudget }
  var streamCredit: SizeArgument { tuning.streamCredit }
  var maxForwardedParts: Int { tuning.maxForwardedParts }
  var ackBytes: SizeArgument { tuning.ackBytes }
  var ackInterval: DurationArgument { tuning.ackInterval }

  enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
  }

  /// Parses the command line completed from the environment (`UPLOADER_<OPTION>` for every
  /// option and flag, named from the options themselves), then runs.
  static func main() async {
    let names = [
      EssentialOptions.derivedNames, ServerOptions.derivedNames, TuningOptions.derivedNames, AccessOptions.derivedNames,
      NotificationOptions.derivedNames,
    ]
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
    if let database {
      do {
        _ = try PostgresURL(database)
      } catch {
        throw ValidationError("--database: \(error.message)")
      }
    }
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
    if let httpListen = general.httpListen {
      (configuration.httpHost, configuration.httpPort) = (httpListen.host, httpListen.port)
    }
    configuration.httpAllowedOrigins = (general.httpAllowedOrigins ?? "").split(separator: ",")
      .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    let ttl = sessionTTL.duration
    configuration.sessions.sessionTTL = ttl
    configuration.sessions.maximumObjectSize = maxObjectSize.bytes
    if let spoolLimit { configuration.spoolLimit = spoolLimit.bytes }
    configuration.http2TargetWindowSize = Int(http2Window.bytes)
    configuration.receiveBufferBudget = receiveBudget.bytes
    configuration.sessions.receiveCreditBudget = streamCredit.bytes
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
