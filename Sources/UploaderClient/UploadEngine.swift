import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import NIOFileSystem
import NIOFoundationCompat
import Synchronization
import UploadCore
import UploadProtocol

/// Sends a journaled upload to the server and completes it, reconnecting by itself.
///
/// Each attempt asks the server for its authoritative progress, checks the digests of what it
/// holds against the journal, then streams the missing bytes of every part (`parallel` parts at
/// a time, one stream per part) from the acknowledged offsets. Transient failures (the server
/// or the link went away) are retried with exponential backoff and jitter, capped at 30 s;
/// permanent ones stop with the server's message.
public struct UploadEngine: Sendable {
  public typealias Client = Uploader_V1_ResumableUploads.Client<HTTP2ClientTransport.Posix>

  /// What happens, for progress displays.
  public enum Event: Sendable {
    /// Bytes the server acknowledged as durable, out of the file's size.
    case progress(done: Int64, total: Int64)
    /// An attempt failed; the next starts after `delay`.
    case retrying(after: Duration, reason: String)
  }

  /// How to send.
  public struct Options: Sendable {
    /// Part streams at once.
    public var parallel = 4
    /// Bytes per message.
    public var chunkSize = 256 << 10
    /// Bytes per second, or nil for no limit.
    public var rateLimit: Int64?
    /// Sent with every call (`authorization: Bearer ...`).
    public var metadata: Metadata = [:]
    /// Waits between attempts; `maximumAttempts` counts attempts without progress.
    public var retry = RetryPolicy(maximumAttempts: 12, baseDelay: .milliseconds(500), maximumDelay: .seconds(30))

    public init() {}
  }

  let client: Client
  let journal: Journal
  let options: Options
  let onEvent: @Sendable (Event) -> Void
  let now: @Sendable () -> Int64

  public init(
    client: Client, journal: Journal, options: Options, onEvent: @escaping @Sendable (Event) -> Void = { _ in },
    now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
  ) {
    self.client = client
    self.journal = journal
    self.options = options
    self.onEvent = onEvent
    self.now = now
  }

  /// Uploads and completes `upload`; returns the completed session.
  ///
  /// - Throws: `ClientError` for what the user must act on (file changed, session aborted or
  ///   expired, a permanent server error); `CancellationError` when interrupted.
  public func run(_ upload: JournalUpload) async throws -> Uploader_V1_Session {
    let identity = try await LocalFile.identity(of: upload.filePath)
    if let change = upload.identity.changes(to: identity) {
      throw ClientError(
        "\(upload.filePath) changed since the upload started: \(change); start a new upload", journalState: nil)
    }
    let limiter = options.rateLimit.map(RateLimiter.init(bytesPerSecond:))
    var attempt = 0
    var lastDone: Int64 = -1
    while true {
      do {
        return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(upload.filePath)) { file in
          try await attemptUpload(upload, file: file, limiter: limiter)
        }
      } catch {
        if Task.isCancelled { throw CancellationError() }
        guard let reason = Self.transientReason(error) else { throw try await permanent(error, upload) }
        let done = try await journal.parts(of: upload.id).reduce(0) { $0 + $1.acknowledgedBytes }
        if done > lastDone { attempt = 0 }
        lastDone = done
        attempt += 1
        guard options.retry.allowsRetry(after: attempt) else {
          throw ClientError(
            "giving up after \(attempt) attempts without progress (\(reason)); continue later with: uploader resume \(upload.id)",
            journalState: nil)
        }
        let delay = options.retry.delay(after: attempt, unitRandom: Double.random(in: 0.5...1))
        onEvent(.retrying(after: delay, reason: reason))
        try await Task.sleep(for: delay)
      }
    }
  }

  private func attemptUpload(_ upload: JournalUpload, file: ReadFileHandle, limiter: RateLimiter?) async throws
    -> Uploader_V1_Session
  {
    let journalParts = try await journal.parts(of: upload.id)
    var sessionID = upload.sessionID
    if sessionID == nil {
      let created = try await client.createSession(.with {
        $0.key = upload.key
        $0.size = UInt64(upload.identity.size)
        $0.partSize = UInt64(upload.partSize)
        $0.idempotencyKey = upload.id
      }, metadata: options.metadata)
      try await journal.started(upload.id, sessionID: created.id)
      sessionID = created.id
    }
    let id = sessionID!
    let session = try await client.getSession(.with { $0.sessionID = id }, metadata: options.metadata)
    switch session.state {
    case .completed: return session
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
      let journalPart = journalParts[number - 1]
      if part.state == .received || part.state == .committed {
        guard part.sha256 == Data(journalPart.sha256.bytes) else {
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

    try await withThrowingTaskGroup(of: Void.self) { group in
      var running = 0
      for (number, from) in pending {
        if running == options.parallel {
          try await group.next()
          running -= 1
        }
        let part = journalParts[number - 1]
        group.addTask {
          try await send(part, from: from, session: id, upload: upload, file: file, limiter: limiter, progress: progress)
        }
        running += 1
      }
      try await group.waitForAll()
    }

    let completed = try await client.completeSession(.with {
      $0.sessionID = id
      $0.sha256 = Data(upload.sha256.bytes)
      $0.partSha256S = journalParts.map { Data($0.sha256.bytes) }
    }, metadata: options.metadata).session
    try await journal.finish(upload.id, state: .completed, at: now())
    return completed
  }

  /// Streams part `part` from `from` to its end, recording acknowledgements in the journal.
  private func send(
    _ part: JournalPart, from: Int64, session: String, upload: JournalUpload, file: ReadFileHandle,
    limiter: RateLimiter?, progress: Progress
  ) async throws {
    let start = Int64(part.number - 1) * upload.partSize
    let chunkSize = options.chunkSize
    try await client.uploadParts(metadata: options.metadata, requestProducer: { writer in
      var offset = from
      while offset < part.size {
        let length = Int(min(Int64(chunkSize), part.size - offset))
        try await limiter?.acquire(length)
        let buffer = try await file.readChunk(fromAbsoluteOffset: start + offset, length: .bytes(Int64(length)))
        guard buffer.readableBytes == length else {
          throw ClientError("\(upload.filePath) is shorter than when the upload started")
        }
        let message = Uploader_V1_PartChunk.with {
          $0.sessionID = session
          $0.partNumber = UInt32(part.number)
          $0.offset = UInt64(offset)
          // The buffer was just read and is not shared: hand its storage over instead of copying.
          $0.data = buffer.getData(at: buffer.readerIndex, length: length, byteTransferStrategy: .noCopy) ?? Data()
          $0.last = offset + Int64(length) == part.size
          if offset == from { $0.partSha256 = Data(part.sha256.bytes) }
        }
        try await writer.write(message)
        offset += Int64(length)
      }
    }, onResponse: { response in
      for try await event in response.messages {
        switch event.event {
        case .progress(let ack):
          progress.set(part: Int(ack.partNumber), Int64(ack.receivedBytes))
          try await journal.acknowledged(upload.id, part: Int(ack.partNumber), bytes: Int64(ack.receivedBytes), committed: false)
        case .committed(let committed):
          try await journal.acknowledged(upload.id, part: Int(committed.partNumber), bytes: part.size, committed: true)
        case nil:
          break
        }
      }
    })
  }

  /// Why retrying may help, or nil for a permanent failure.
  static func transientReason(_ error: any Error) -> String? {
    guard let error = error as? RPCError else {
      return error is ClientError || error is CancellationError ? nil : "\(error)"
    }
    let code = error.metadata[stringValues: "uploader-error-code"].first(where: { _ in true })
    switch error.code {
    case .unavailable, .deadlineExceeded, .aborted, .resourceExhausted, .cancelled, .unknown, .dataLoss:
      return "\(error.code): \(error.message)"
    case .failedPrecondition where code == "OFFSET_GAP":
      return "\(error.code): \(error.message)"
    default:
      return nil
    }
  }

  private func permanent(_ error: any Error, _ upload: JournalUpload) async throws -> any Error {
    let stop =
      switch error {
      case let error as ClientError: error
      case let error as RPCError: ClientError("the server refused: \(error.message) (\(error.code))")
      default: ClientError("\(error)")
      }
    if let state = stop.journalState {
      try await journal.finish(upload.id, state: state, error: stop.message, at: now())
    }
    return stop
  }
}

/// Acknowledged bytes per part, summed for the progress display.
final class Progress: Sendable {
  private let acknowledged = Mutex<[Int: Int64]>([:])
  private let total: Int64
  private let onEvent: @Sendable (UploadEngine.Event) -> Void

  init(total: Int64, onEvent: @escaping @Sendable (UploadEngine.Event) -> Void) {
    self.total = total
    self.onEvent = onEvent
  }

  func set(part: Int, _ bytes: Int64) {
    let done = acknowledged.withLock { parts in
      parts[part] = max(parts[part] ?? 0, bytes)
      return parts.values.reduce(0, +)
    }
    onEvent(.progress(done: done, total: total))
  }
}
