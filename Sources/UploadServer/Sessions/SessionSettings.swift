import Foundation
import UploadCore

/// The knobs of resumable sessions, and the injected clock and randomness.
public struct SessionSettings: Sendable {
  /// Sessions idle longer than this expire. Setting it sets `expiryCheckInterval` to a quarter
  /// of it, from 1 s to 60 s.
  public var sessionTTL: Duration = .seconds(24 * 3600) {
    didSet { expiryCheckInterval = min(.seconds(60), max(.seconds(1), sessionTTL / 4)) }
  }
  /// The largest object a session may hold.
  public var maximumObjectSize: Int64 = PartSizing.maximumObjectSize
  /// The most open (or completing) sessions one principal may have.
  public var maximumOpenSessionsPerPrincipal = 1_000
  /// Where a principal's keys land (`--key-prefix-per-principal`); the original Upload RPC
  /// follows it too.
  public var keyPlacement = KeyPlacement()
  /// A progress acknowledgement (fdatasync + SQLite commit) is sent after this many bytes...
  public var acknowledgementBytes: Int64 = 4 << 20
  /// ... or this long after the previous one, whichever comes first, and at the end of a part.
  public var acknowledgementInterval: Duration = .milliseconds(250)
  /// A stream reports the bytes it has spooled (written, not yet durable) at least this often
  /// (more often when its credit is small): cheap (no fdatasync, no database), so clients keep
  /// few bytes in flight.
  public var spooledReportBytes: Int64 = 1 << 20
  /// The bytes all upload streams together may have sent that the server has not yet written
  /// (they wait in its HTTP/2 and gRPC buffers), shared evenly among the open streams as the
  /// credit each event carries (`ReceiveCredit`). It bounds the server's memory whatever the
  /// number of clients: one client with 4 streams is granted 16 MiB a stream (as much as long
  /// links need), 64 streams 1 MiB each.
  public var receiveCreditBudget: Int64 = 64 << 20
  /// The least credit a stream is granted: two 256 KiB chunks.
  public var minimumStreamCredit: Int64 = 512 << 10
  /// The most credit a stream is granted; more than the HTTP/2 window could not be in flight.
  public var maximumStreamCredit: Int64 = 16 << 20
  /// The first parts' size in a session of unknown size whose client lets the server choose
  /// (the original contract always does).
  public var streamingPartSize: Int64 = PartPlan.defaultPartSize
  /// How many parts of a session of unknown size share a size before it doubles.
  public var streamingPartsPerTier = PartSizing.streamingPartsPerTier
  /// Parts of one stream uploaded to the object store at the same time.
  public var maximumConcurrentCommits = 4
  /// Parts uploaded to the object store while they arrive, for the whole server (0: none).
  /// Each holds a store request open while its client sends; a part that finds no place is
  /// committed from the spool once received.
  public var maximumForwardedParts = 16
  /// Hash every part on receipt even when the object store verifies its declared SHA-256
  /// itself (S3 does): a byte changed on the way is then caught before the store sees it,
  /// at about 0.8 CPU seconds per GiB. Off: each byte is hashed once on the client, and the
  /// store checks it.
  public var verifiesOnReceipt = false
  /// The largest metadata map (names and values, in UTF-8 bytes). The metadata is stored on
  /// the object, and S3 holds at most 2 KiB, of which the server's `sha256` takes 70 bytes.
  public var maximumMetadataBytes = ObjectAttributes.maximumMetadataBytes
  /// Read every completed object back and verify its SHA-256, as if each CompleteSession asked
  /// for it (`verify`). It costs one read of the object from the store.
  public var verifiesCompletedObjects = false
  /// How often received parts whose commit failed are committed again.
  public var commitRetryInterval: Duration = .seconds(5)
  /// Waits between background retries of multipart aborts that failed (the store was
  /// unreachable when a stream was given up); with none pending, the store is looked at every
  /// `baseDelay`.
  public var abortRetryPolicy = RetryPolicy(
    maximumAttempts: .max, baseDelay: .seconds(1), maximumDelay: .seconds(60))
  /// A node whose heartbeat is older than this is taken for dead: the parts it held are reset so
  /// that any node can receive them again. Nodes beat every `nodeLapse / 5`.
  public var nodeLapse: Duration = .seconds(15)
  /// How often a node records its heartbeat and looks for lapsed nodes.
  var heartbeatInterval: Duration { max(.milliseconds(200), nodeLapse / 5) }
  /// How long CompleteSession waits for received parts held by other nodes to be committed
  /// there (or reset, when their node lapsed) before it answers UNAVAILABLE.
  var foreignCommitWait: Duration { nodeLapse * 2 }
  /// How often idle sessions are looked for.
  public var expiryCheckInterval: Duration = .seconds(60)
  /// Wall-clock time (session timestamps, expiry). Tests pin it.
  public var now: @Sendable () -> Date = { Date() }
  /// Session ids. Tests seed it.
  public var makeSessionID: @Sendable () -> SessionID = {
    var generator = SystemRandomNumberGenerator()
    return SessionID.random(using: &generator)
  }

  /// The defaults.
  public init() {}

  /// `nowMilliseconds` minus `duration`.
  func millisecondsAgo(_ duration: Duration) -> Int64 {
    let parts = duration.components
    return nowMilliseconds - parts.seconds * 1000 - parts.attoseconds / 1_000_000_000_000_000
  }

  /// `now` in milliseconds since the Unix epoch.
  var nowMilliseconds: Int64 { Int64((now().timeIntervalSince1970 * 1000).rounded()) }

  /// The expiry time of a session touched now.
  var expiryFromNow: Int64 {
    let ttl = sessionTTL.components
    return nowMilliseconds + ttl.seconds * 1000 + ttl.attoseconds / 1_000_000_000_000_000
  }
}
