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
  /// The PostgreSQL database shared by replicas; nil keeps sessions in SQLite under
  /// `dataDirectory`.
  public var database: PostgresURL?
  /// This server's name among the nodes sharing the database; nil uses the one kept in
  /// `dataDirectory/node-id`, made on first start (host name and a random suffix).
  public var nodeID: String?
  /// The S3 bucket to store objects in; nil stores them under `dataDirectory/store`.
  public var s3: S3Configuration?
  /// Keep no object at all (`DiscardingStore`): for benchmarks only.
  public var discardsObjects = false
  /// Where completion notifications go; nil sends none (and queues none).
  public var notifications: NotificationSettings?
  /// Parts (and single objects) uploaded to the store at the same time by the whole server, so
  /// that memory and connections to the store do not grow with the number of clients. 16 does
  /// not slow one client with 4 streams; 4 cost it 8% (1 GiB to SeaweedFS: 10.1 s against 9.3 s)
  /// and saved 9 MiB of server RSS.
  public var maximumConcurrentPartUploads = 16
  /// The HTTP/2 flow-control window, per stream and per connection: the most bytes a client may
  /// have sent that the server has not yet read. One connection moves at most one window per
  /// round trip, so a path needs at least rate x round trip (1 Gbit/s x 100 ms = 12 MiB). 2 MiB
  /// capped a 100 ms link at 9 MiB/s; 16 MiB filled 1 Gbit/s at 100 ms (docs/BENCHMARKS.md). A
  /// window is a promise, not an allocation: bytes wait in it only while the stream's reader is
  /// behind, and `receiveBufferBudget` bounds the sum of those promises.
  ///
  /// Setting it sets `sessions.maximumStreamCredit`: a stream is never granted more credit than
  /// its window lets its client send.
  public var http2TargetWindowSize = 16 << 20 {
    didSet { sessions.maximumStreamCredit = Int64(http2TargetWindowSize) }
  }
  /// The most memory that upload streams' windows may hold at once if every reader stalls:
  /// `uploadStreamLimit` keeps upload streams x `http2TargetWindowSize` within it.
  public var receiveBufferBudget: Int64 = 4 << 30
  /// The most bytes the spool may hold; a write past it is refused with RESOURCE_EXHAUSTED.
  public var spoolLimit: Int64 = .max
  /// Resumable sessions: TTL, limits, acknowledgement batching, clock and ids.
  public var sessions = SessionSettings()
  /// Where `/metrics` is served (Prometheus text); nil serves no metrics.
  public var metricsHost: String?
  /// The metrics port; 0 picks a free one.
  public var metricsPort = 9464
  /// Where the tus 1.0 door and the upload page are served (HTTP/1.1); nil serves neither.
  public var httpHost: String?
  /// The tus port; 0 picks a free one.
  public var httpPort = 0
  /// Origins whose web pages may call the tus door (CORS); "*" allows any. The server's own
  /// upload page needs none.
  public var httpAllowedOrigins: [String] = []
  /// How often the session database and the object store are checked for the health service.
  public var healthCheckInterval: Duration = .seconds(5)
  /// The largest gRPC message accepted.
  public var maximumMessageSize = 4 << 20
  /// Serve TLS with this certificate and key (and, with a client CA, require client
  /// certificates); nil serves plaintext.
  public var tls: TLSFiles?
  /// The `PRINCIPAL SHA256HEX` tokens file; nil accepts every caller as the anonymous principal.
  public var tokensFile: String?
  /// Listen on a non-loopback address without tokens. Off: such a server refuses to start.
  public var allowUnauthenticated = false
  /// The most upload streams (original and resumable) served at once. One connection may open
  /// 16 more HTTP/2 streams than that, so that unary calls still pass when uploads are at the limit.
  public var maximumStreams = 256
  /// Ping a client connection after this long without reading from it; a connection whose bytes
  /// (that ping among them) go unacknowledged as long again is dropped by the kernel
  /// (`TCP_USER_TIMEOUT` on every accepted socket), so a client whose link went dark without a
  /// reset frees its streams, and the parts they hold, in at most twice this. (gRPC's own ping
  /// timeout only starts a graceful close, which waits for the client's answer to one more ping:
  /// on a dark link, forever.) Clients' pings are accepted down to one a second
  /// (`minimumClientPingInterval`), with or without calls: the CLI pings every 10 s.
  public var keepaliveInterval: Duration = .seconds(10)
  /// The most often a client may ping before the server answers with GOAWAY (too many pings).
  public static let minimumClientPingInterval: Duration = .seconds(1)
  /// A call that keeps the server waiting this long for its next message is ended with
  /// DEADLINE_EXCEEDED.
  public var idleStreamTimeout: Duration = .seconds(300)

  /// PEM files for TLS.
  public struct TLSFiles: Sendable, Hashable {
    /// The server's certificate chain.
    public var certificate: String
    /// The certificate's private key.
    public var privateKey: String
    /// CA certificate(s) client certificates must chain to; nil asks for none.
    public var clientCA: String?

    public init(certificate: String, privateKey: String, clientCA: String? = nil) {
      self.certificate = certificate
      self.privateKey = privateKey
      self.clientCA = clientCA
    }
  }

  /// The embedded defaults.
  public init() {}

  /// Checks the combination of settings that no single setting can: a server reachable from other
  /// machines must check tokens, unless told otherwise.
  ///
  /// - Throws: `UploadError` `.invalidRequest` naming the flag that fixes it.
  public func validate() throws(UploadError) {
    try notifications?.validate()
    try checkRanges()
    if tokensFile == nil, !allowUnauthenticated, !Self.isLoopback(host) {
      throw UploadError(
        .invalidRequest,
        "refusing to listen on \(host) without authentication: give --auth-tokens FILE, or --allow-unauthenticated to accept anyone who can reach this address")
    }
    if let httpHost, tokensFile == nil, !allowUnauthenticated, !Self.isLoopback(httpHost) {
      throw UploadError(
        .invalidRequest,
        "refusing to serve tus on \(httpHost) without authentication: give --auth-tokens FILE, or --allow-unauthenticated to accept anyone who can reach this address")
    }
  }

  /// Whether `host` is reachable only from this machine.
  static func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host.hasPrefix("127.")
  }

  /// The upload streams served at once: `maximumStreams`, or fewer where every stream filling its
  /// window would exceed `receiveBufferBudget`.
  public var uploadStreamLimit: Int {
    let byBudget = receiveBufferBudget / Int64(max(http2TargetWindowSize, 1))
    return max(1, min(maximumStreams, Int(clamping: byBudget)))
  }

  /// Connections to S3: one for every part upload from the spool and every forwarded part at
  /// once, so a forward waiting for its client never keeps a commit or a control call (create,
  /// complete, abort, health) from a connection, plus 8 for those calls.
  public var s3Connections: Int {
    maximumConcurrentPartUploads + sessions.maximumForwardedParts + 8
  }

  /// The flags that set `uploadStreamLimit`, for messages.
  public var uploadStreamLimitSource: String {
    uploadStreamLimit < maximumStreams ? "--receive-budget / --http2-window" : "--max-streams"
  }

  /// `dataDirectory/spool`.
  public var spoolDirectory: String { dataDirectory + "/spool" }
  /// `dataDirectory/sessions.sqlite`, the session store.
  public var databasePath: String { dataDirectory + "/sessions.sqlite" }

  /// Where the node id made on first start is kept.
  public var nodeIDPath: String { dataDirectory + "/node-id" }
  /// `dataDirectory/store`, the local directory store's root.
  public var localStoreDirectory: String { dataDirectory + "/store" }
}
