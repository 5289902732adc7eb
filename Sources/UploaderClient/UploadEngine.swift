import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import NIOFileSystem
import NIOFoundationCompat
import UploadCore
import UploadProtocol

/// Sends a journaled upload to the server and completes it, reconnecting by itself.
///
/// Each attempt asks the server for its authoritative progress, checks the digests of what it
/// holds against the journal, then streams the missing bytes of every part from the
/// acknowledged offsets: `parallel` streams, each on its own connection, each taking the next
/// missing part as soon as it has sent the last, so no stream idles waiting for a part's commit
/// across the round trip. Transient failures (the server
/// or the link went away) are retried with exponential backoff and jitter, capped at 30 s;
/// permanent ones stop with the server's message.
public struct UploadEngine: Sendable {
  /// A client of the resumable protocol over HTTP/2.
  public typealias Client = Uploader_V1_ResumableUploads.Client<HTTP2ClientTransport.Posix>

  /// What happens, for progress displays.
  public enum Event: Sendable {
    /// Bytes the server acknowledged as durable, out of the file's size (nil: not known, a stream).
    case progress(done: Int64, total: Int64?)
    /// Attempt `attempt` (counted since the last progress) failed; the next starts after `delay`.
    case retrying(after: Duration, attempt: Int, reason: String)
    /// The server answered again, `after` the connection to it was lost.
    case reconnected(after: Duration)
    /// The upload now runs `count` part streams, each on its own connection, having measured
    /// `bytesPerSecond` of goodput with the previous count (`ConnectionTuner`).
    case connections(count: Int, bytesPerSecond: Double)
  }

  /// How to send.
  public struct Options: Sendable {
    /// Part streams at once, each on its own connection: the count to start with when the
    /// connections adapt (`maximumParallel`), else the fixed count.
    public var parallel = 4
    /// The most part streams (connections) to grow to while more of them bring more goodput (a
    /// lossy path); nil keeps `parallel`. Needs an engine made with `Connections`.
    public var maximumParallel: Int? = nil
    /// How long to keep reconnecting after the link to the server was lost (the server answered
    /// before, then the connection broke or went silent), trying about every second.
    public var reconnectWindow: Duration = .seconds(300)
    /// Bytes per message.
    public var chunkSize = 256 << 10
    /// Files up to this size go in one exchange (`UploadObject`: create, data and complete)
    /// instead of a session's three; 0 sends every file as a session.
    public var wholeObjectLimit: Int64 = 1 << 20
    /// Whether the server takes whole objects; shared by every upload run with these options,
    /// so a server found without `UploadObject` is asked once.
    public var wholeObjects = WholeObjectOffer()
    /// Gathers the whole objects of the uploads that share these options into `UploadObjects`
    /// calls (a directory's files); nil sends each in its own `UploadObject`.
    public var wholeObjectBatcher: WholeObjectBatcher? = nil
    /// The rate limit, or nil for none. Every upload run with these options shares it (the files
    /// of a directory), so it bounds the command, not each file.
    public var limiter: RateLimiter?
    /// Sent with every call (`authorization: Bearer ...`).
    public var metadata: Metadata = [:]
    /// Waits between attempts; `maximumAttempts` counts attempts without progress.
    public var retry = RetryPolicy(maximumAttempts: 12, baseDelay: .milliseconds(500), maximumDelay: .seconds(30))
    /// When set, how long to keep trying without progress instead of `retry`'s attempts and
    /// `reconnectWindow` (`uploader --retry-for`); a server that never answered still gets only
    /// `firstContactAttempts`.
    public var retryFor: Duration? = nil
    /// `HOST:PORT` of the server, for messages.
    public var server = ""
    /// Attempts before giving up on a server that never answered in this run: about 5 s with
    /// `retry`'s backoff. A server that never answered is far more often a wrong address or a
    /// stopped server than a link that is down at the very start, and more retries will not fix
    /// either; a server that answered and then dropped gets every attempt of `retry`.
    public var firstContactAttempts = 5

    /// The defaults: 4 streams, 256 KiB chunks, no rate limit.
    public init() {}
  }

  /// The connections part streams run on: a fixed list, or opened as the tuner asks.
  enum Links: Sendable {
    case fixed([Client])
    case opened(Connections)
  }

  let links: Links
  /// Unary calls use the first connection.
  func unaryClient() throws -> Client { try streamClient(0) }
  /// The count of part streams, kept across attempts.
  let tuner: Locked<ConnectionTuner>
  let journal: Journal
  let options: Options
  let onEvent: @Sendable (Event) -> Void
  let now: @Sendable () -> Int64

  /// An engine over `clients` (one per connection; at least one), recording progress in `journal`.
  public init(
    clients: [Client], journal: Journal, options: Options, onEvent: @escaping @Sendable (Event) -> Void = { _ in },
    now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
  ) {
    precondition(!clients.isEmpty, "UploadEngine needs at least one client")
    self.links = .fixed(clients)
    self.tuner = Locked(ConnectionTuner(start: max(1, options.parallel), maximum: max(1, options.parallel)))
    self.journal = journal
    self.options = options
    self.onEvent = onEvent
    self.now = now
  }

  /// An engine whose part streams open connections from `connections` as they need them:
  /// `options.parallel` to start with, more while they pay, up to `options.maximumParallel`.
  public init(
    connections: Connections, journal: Journal, options: Options,
    onEvent: @escaping @Sendable (Event) -> Void = { _ in },
    now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
  ) {
    self.links = .opened(connections)
    let start = max(1, options.parallel)
    self.tuner = Locked(ConnectionTuner(start: start, maximum: max(start, options.maximumParallel ?? start)))
    self.journal = journal
    self.options = options
    self.onEvent = onEvent
    self.now = now
  }

  /// The client of part stream `index`.
  func streamClient(_ index: Int) throws -> Client {
    switch links {
    case .fixed(let clients): clients[index % clients.count]
    case .opened(let connections): try connections.client(index)
    }
  }

  /// Uploads and completes `upload`; returns the completed session.
  ///
  /// - Throws: `ClientError` for what the user must act on (file changed, session aborted or
  ///   expired, a permanent server error); `CancellationError` when interrupted.
  public func run(_ upload: JournalUpload) async throws -> Uploader_V1_Session {
    if sendsWhole(upload), let session = try await sendWhole(upload) { return session }
    let identity = try await LocalFile.identity(of: upload.filePath)
    if let change = upload.identity.changes(to: identity) {
      throw Self.changed(upload, change)
    }
    let digester = FileDigester(upload: upload, parts: try await journal.parts(of: upload.id), journal: journal)
    return try await withThrowingTaskGroup(of: Uploader_V1_Session?.self) { group in
      // The file is hashed beside the sends. Its failures reach the attempts through the
      // digests they wait for, so they are handled (and journaled) in one place.
      group.addTask {
        try? await digester.run()
        return nil
      }
      group.addTask { try await attempts(upload, digester: digester) }
      for try await result in group {
        if let result {
          group.cancelAll()
          return result
        }
      }
      throw CancellationError()
    }
  }

  /// Attempts the upload until it completes, retrying transient failures.
  private func attempts(_ upload: JournalUpload, digester: FileDigester) async throws -> Uploader_V1_Session {
    let limiter = options.limiter
    let session = try await retrying(
      options: options, onEvent: onEvent,
      progress: { try await journal.parts(of: upload.id).reduce(0) { $0 + $1.acknowledgedBytes } },
      unreachable: { unreachable(upload, attempts: $0) },
      exhausted: { exhausted(upload, attempts: $0, reason: $1) },
      permanent: { error in try await UploadFailure.permanent(error, upload.id, journal: journal, at: now()) }
    ) { contact in
      do {
        return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(upload.filePath)) { file in
          try await attemptUpload(upload, file: file, digester: digester, limiter: limiter, contact: contact)
        }
      } catch where UploadFailure.isDigestMismatch(error) {
        // Bytes that do not hash to their digest: changed on the way (sending them again
        // helps), or changed in the file since it was hashed (nothing will).
        try await stopIfChanged(upload)
        throw error
      }
    }
    // Also when an earlier run completed the session and died before it could record that.
    try await journal.finish(upload.id, state: .completed, at: now())
    return session
  }

  /// The error for a file that is not what the journal recorded: `change` says how.
  static func changed(_ upload: JournalUpload, _ change: String) -> ClientError {
    ClientError("\(upload.filePath) changed since the upload started: \(change); start a new upload", journalState: nil)
  }

  /// The error for a server that never answered in `attempts` tries.
  func unreachable(_ upload: JournalUpload, attempts: Int) -> ClientError {
    ClientError(
      "cannot reach the server at \(options.server) (nothing answered in \(attempts) tries); check that uploader-server runs there. The upload is saved: continue with `uploader resume \(upload.id)`, or send it to another server with `uploader resume \(upload.id) --server HOST:PORT`",
      journalState: nil)
  }

  /// The error once the retries allow no more attempts.
  func exhausted(_ upload: JournalUpload, attempts: Int, reason: String) -> ClientError {
    ClientError(
      "giving up after \(attempts) attempts without progress (\(reason)); continue later with: uploader resume \(upload.id)",
      journalState: nil)
  }

  private func attemptUpload(
    _ upload: JournalUpload, file: ReadFileHandle, digester: FileDigester, limiter: RateLimiter?, contact: Contact
  ) async throws
    -> Uploader_V1_Session
  {
    let client = try unaryClient()
    let journalParts = try await journal.parts(of: upload.id)
    let session: Uploader_V1_Session
    if let id = upload.sessionID {
      session = try await client.getSession(.with { $0.sessionID = id }, metadata: options.metadata)
    } else {
      // A new session's description holds its parts: no GetSession round trip.
      session = try await client.createSession(.with {
        $0.key = upload.key
        $0.size = UInt64(upload.identity.size)
        $0.partSize = UInt64(upload.partSize)
        $0.idempotencyKey = upload.id
        $0.contentType = upload.attributes.contentType
        $0.metadata = upload.attributes.metadata
      }, metadata: options.metadata)
      try await journal.started(upload.id, sessionID: session.id)
    }
    contact.made()
    let id = session.id
    switch session.state {
    case .completed: return try await session.finished(upload, client: client, metadata: options.metadata)
    case .aborted: throw ClientError("the server's session \(id) was aborted", journalState: .aborted)
    case .expired: throw ClientError("the server's session \(id) expired; start a new upload", journalState: .expired)
    default: break
    }

    guard session.parts.count == journalParts.count, session.size == UInt64(upload.identity.size) else {
      throw ClientError(
        "the server's session \(id) has \(session.parts.count) parts of \(session.size) bytes, the journal \(journalParts.count) of \(upload.identity.size)")
    }
    let progress = Progress(total: upload.identity.size, onEvent: onEvent)
    var pending: [(number: Int, from: Int64)] = []
    for part in session.parts {
      let number = Int(part.number)
      if part.state == .received || part.state == .committed {
        // A part reaches the server only after its digest is in the journal, so this does not wait.
        let expected = try await digester.digest(ofPart: number)
        guard part.sha256 == Data(expected.bytes) else {
          throw ClientError(
            "the server holds different bytes for part \(number) than \(upload.filePath); abort this upload (uploader abort \(upload.id)) and start again")
        }
        progress.set(part: number, Int64(part.size))
        try await journal.acknowledged(upload.id, part: number, bytes: Int64(part.size), committed: part.state == .committed)
      } else {
        progress.set(part: number, Int64(part.receivedBytes))
        pending.append((number, Int64(part.receivedBytes)))
      }
    }

    let queue = PartQueue(pending.map { (journalParts[$0.number - 1], $0.from) })
    // A server that reports spooled bytes grants each stream credit from its receive budget.
    let grantsCredit = session.spooledReportBytes > 0
    let reportBytes = grantsCredit ? session.spooledReportBytes : session.acknowledgementBytes
    let inFlight = InFlightBytes(
      reportBytes: reportBytes == 0 ? 4 << 20 : Int64(reportBytes),
      chunkSize: options.chunkSize, serverGrantsCredit: grantsCredit)
    let completed = try await withThrowingTaskGroup(of: Uploader_V1_Session?.self) { group in
      group.addTask {
        defer { progress.settle() }
        try await runStreams(queue, parts: journalParts, session: id, upload: upload, file: file,
          digester: digester, limiter: limiter, progress: progress, inFlight: inFlight)
        return nil
      }
      // Once every byte is acknowledged (received and verified), complete while the streams still
      // wait for their last commits: the server commits what is left itself, so the commit
      // events' trip back is not waited for. A part found missing then is retried like a drop.
      group.addTask {
        await progress.allAcknowledged()
        try Task.checkCancellation()
        let whole = try await digester.whole()
        var digests: [Data] = []
        for part in journalParts { digests.append(Data(try await digester.digest(ofPart: part.number).bytes)) }
        return try await client.completeSession(.with {
          $0.sessionID = id
          $0.sha256 = Data(whole.bytes)
          $0.partSha256S = digests
          $0.verify = upload.verify
        }, metadata: options.metadata).session
      }
      var completed: Uploader_V1_Session?
      for try await result in group where result != nil { completed = result }
      return try await completed!.finished(upload, client: client, metadata: options.metadata)
    }
    return completed
  }
}
