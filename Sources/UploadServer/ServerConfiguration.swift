import S3
import UploadCore

/// Everything `UploaderServer` needs, with the embedded defaults: loopback, `./data`, objects
/// in a local directory.
public struct ServerConfiguration: Sendable {
  /// The address to listen on.
  public var host: String = "127.0.0.1"
  /// The port to listen on; 0 picks a free one.
  public var port: Int = 50051
  /// Holds the spool and, without S3, the objects.
  public var dataDirectory: String = "./data"
  /// The S3 bucket to store objects in; nil stores them under `dataDirectory/store`.
  public var s3: S3Configuration?
  /// How streams are cut into parts.
  public var partSizing = PartSizing()
  /// Parts of one stream uploaded to the store at the same time.
  public var maximumConcurrentPartsPerStream = 4
  /// The HTTP/2 flow-control window. The 64 KiB default caps a loopback stream at about
  /// 90 MiB/s here, and a 10 ms link at about 6 MiB/s; 8 MiB lifts both.
  public var http2TargetWindowSize = 8 << 20
  /// Waits between background retries of aborts that failed (the store was unreachable).
  public var abortRetryPolicy = RetryPolicy(
    maximumAttempts: .max, baseDelay: .seconds(1), maximumDelay: .seconds(60))
  /// The most bytes the spool may hold; a write past it is refused with RESOURCE_EXHAUSTED.
  public var spoolLimit: Int64 = .max
  /// Resumable sessions: TTL, limits, acknowledgement batching, clock and ids.
  public var sessions = SessionSettings()
  /// Where `/metrics` is served (Prometheus text); nil serves no metrics.
  public var metricsHost: String?
  /// The metrics port; 0 picks a free one.
  public var metricsPort = 9464
  /// How often the session database and the object store are checked for the health service.
  public var healthCheckInterval: Duration = .seconds(5)
  /// The largest gRPC message accepted.
  public var maximumMessageSize = 4 << 20

  /// The embedded defaults.
  public init() {}

  /// `dataDirectory/spool`.
  public var spoolDirectory: String { dataDirectory + "/spool" }
  /// `dataDirectory/sessions.sqlite`, the session store.
  public var databasePath: String { dataDirectory + "/sessions.sqlite" }
  /// `dataDirectory/store`, the local directory store's root.
  public var localStoreDirectory: String { dataDirectory + "/store" }
}
