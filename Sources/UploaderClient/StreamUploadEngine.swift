import Crypto
import Foundation
import GRPCCore
import Synchronization
import UploadCore
import UploadProtocol

/// Sends a stream of unknown length (standard input) into a session of unknown size, and
/// completes it.
///
/// The input is read once. What the server has not acknowledged as durable is kept in an
/// `UnacknowledgedTail` of at most the server's acknowledgement interval plus one chunk, and
/// reading waits while it is full; the server acknowledges at least that often, so the wait
/// always ends. When the link or the server drops, the engine reconnects by itself, asks where
/// the durable data ends and sends again from there. Parts are sent one after another on one
/// stream; each part's SHA-256 goes with its last chunk, and an empty chunk with `ends_object`
/// fixes the size once the input ends.
///
/// If the process dies, the rest of the input is gone: the journal then shows the upload as not
/// resumable, and `uploader abort` cleans it up.
public struct StreamUploadEngine: Sendable {
  let client: UploadEngine.Client
  let journal: Journal
  let options: UploadEngine.Options
  let onEvent: @Sendable (UploadEngine.Event) -> Void
  let now: @Sendable () -> Int64

  /// An engine sending over `client`, remembering the upload in `journal`; `now` is the clock
  /// of the journal's timestamps.
  public init(
    client: UploadEngine.Client, journal: Journal, options: UploadEngine.Options,
    onEvent: @escaping @Sendable (UploadEngine.Event) -> Void = { _ in },
    now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
  ) {
    self.client = client
    self.journal = journal
    self.options = options
    self.onEvent = onEvent
    self.now = now
  }

  /// Uploads `input` as `upload` (recorded in the journal with `JournalUpload.standardInput` as
  /// its file) and completes it; returns the completed session.
  ///
  /// - Throws: `ClientError` for what the user must act on; `CancellationError` when interrupted.
  public func run(_ upload: JournalUpload, input: any ByteSource) async throws -> Uploader_V1_Session {
    let stream = StreamState()
    let session = try await retrying(
      options: options, onEvent: onEvent, progress: { stream.acknowledged },
      unreachable: { attempt in
        ClientError(
          "cannot reach the server at \(options.server): nothing answered in \(attempt) tries. Check that uploader-server runs there and that --server (or UPLOADER_SERVER) names it",
          journalState: .failed)
      },
      exhausted: { attempt, reason in
        ClientError(
          "giving up after \(attempt) attempts without progress (\(reason)); standard input cannot be read again, so abort the upload: uploader abort \(upload.id)",
          journalState: .failed)
      },
      permanent: { error in try await UploadFailure.permanent(error, upload.id, journal: journal, at: now()) }
    ) { contact in
      try await attemptUpload(upload, input: input, stream: stream, contact: contact)
    }
    let (size, sha256) = stream.finished
    try await journal.streamEnded(upload.id, size: size, sha256: sha256)
    try await journal.finish(upload.id, state: .completed, at: now())
    return session
  }

  /// One connection's worth: finds where the durable data ends, sends the rest of the input,
  /// then completes.
  private func attemptUpload(
    _ upload: JournalUpload, input: any ByteSource, stream: StreamState, contact: Contact
  ) async throws -> Uploader_V1_Session {
    var session: Uploader_V1_Session
    if let id = stream.sessionID {
      session = try await client.getSession(.with { $0.sessionID = id }, metadata: options.metadata)
    } else {
      session = try await client.createSession(.with {
        $0.key = upload.key
        $0.sizeUnknown = true
        $0.partSize = UInt64(upload.partSize)
        $0.idempotencyKey = upload.id
        $0.contentType = upload.attributes.contentType
        $0.metadata = upload.attributes.metadata
      }, metadata: options.metadata)
      try await journal.started(upload.id, sessionID: session.id)
    }
    contact.made()
    switch session.state {
    case .completed: return try await session.finished(upload, client: client, metadata: options.metadata)
    case .aborted: throw ClientError("the server's session \(session.id) was aborted", journalState: .aborted)
    case .expired: throw ClientError("the server's session \(session.id) expired", journalState: .expired)
    default: break
    }
    guard session.sizeUnknown || session.partsPerTier > 0 else {
      throw ClientError("the server's session \(session.id) has a known size; it cannot take a stream")
    }
    let plan = PartPlan(
      size: nil,
      sizing: PartSizing(basePartSize: Int64(session.partSize), partsPerTier: Int(session.partsPerTier)))
    try stream.begin(session: session.id, plan: plan, durable: session.durableBytes)

    if session.sizeUnknown || !stream.inputEnded {
      try await send(upload, input: input, stream: stream, plan: plan, session: session)
    }
    let (size, whole) = stream.finished
    return try await client.completeSession(.with {
      $0.sessionID = session.id
      $0.sha256 = Data(whole.bytes)
      $0.verify = upload.verify
      // An empty object has no parts.
      $0.partSha256S = size == 0 ? [] : stream.partDigests.map { Data($0.bytes) }
    }, metadata: options.metadata).session
  }

  /// Streams the input from the durable offset to its end, then the chunk that ends the object.
  private func send(
    _ upload: JournalUpload, input: any ByteSource, stream: StreamState, plan: PartPlan, session: Uploader_V1_Session
  ) async throws {
    let chunkSize = options.chunkSize
    let capacity = Int64(session.acknowledgementBytes == 0 ? 4 << 20 : session.acknowledgementBytes) + Int64(chunkSize)
    let (acknowledgements, acknowledged) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    let id = session.id
    let limiter = options.limiter
    try await client.uploadParts(metadata: options.metadata, requestProducer: { writer in
      var acks = acknowledgements.makeAsyncIterator()
      var position = stream.tailStart
      while true {
        if let piece = stream.piece(from: position, plan: plan, limit: chunkSize) {
          try await limiter?.acquire(piece.data.count)
          try await writer.write(.with {
            $0.sessionID = id
            $0.partNumber = UInt32(piece.part)
            $0.offset = UInt64(piece.offset)
            $0.data = piece.data
            $0.last = piece.last
            $0.endsObject = piece.endsObject
            if let digest = piece.digest { $0.partSha256 = Data(digest.bytes) }
          })
          if piece.endsObject { return }
          position += Int64(piece.data.count)
        } else if stream.tailCount + Int64(chunkSize) <= capacity {
          let data = try await input.read(filling: chunkSize)
          for digest in try stream.append(data, plan: plan) {
            try await journal.record(upload.id, part: JournalPart(number: digest.part, size: digest.size, sha256: digest.sha256))
          }
        } else {
          // Full: the server acknowledges at least every acknowledgement interval.
          guard await acks.next() != nil else { throw CancellationError() }
        }
      }
    }, onResponse: { response in
      var recorded = 0
      for try await event in response.messages {
        guard case .progress(let ack) = event.event else { continue }
        let number = Int(ack.partNumber)
        guard number >= 1 && number <= PartSizing.maximumPartCount else { continue }
        if number > recorded {
          // The journal shows progress within a part whose bytes are not all read yet.
          try await journal.record(upload.id, part: JournalPart(number: number, size: plan.size(ofPart: number)))
          recorded = number
        }
        let done = try stream.acknowledge(upTo: plan.offset(ofPart: number) + Int64(ack.receivedBytes))
        try await journal.acknowledged(upload.id, part: number, bytes: Int64(ack.receivedBytes), committed: false)
        onEvent(.progress(done: done, total: nil))
        acknowledged.yield()
      }
    })
  }
}

/// What the stream engine knows across reconnects: the unacknowledged tail, the digests and
/// the session.
final class StreamState: Sendable {
  private struct State {
    var tail = UnacknowledgedTail()
    var sessionID: String?
    var whole = SHA256()
    var wholeDigest: ContentHash?
    var part = SHA256()
    var partDigests: [ContentHash] = []
  }

  /// A chunk to send.
  struct Piece {
    var part: Int
    var offset: Int64
    var data: Data
    var last: Bool
    var endsObject: Bool
    var digest: ContentHash?
  }

  private let state = Mutex(State())

  var sessionID: String? { state.withLock { $0.sessionID } }
  var tailStart: Int64 { state.withLock { $0.tail.start } }
  var tailCount: Int64 { state.withLock { $0.tail.count } }
  var readBytes: Int64 { state.withLock { $0.tail.end } }
  var inputEnded: Bool { state.withLock { $0.tail.inputEnded } }
  var acknowledged: Int64 { tailStart }
  var partDigests: [ContentHash] { state.withLock { $0.partDigests } }

  /// The size and SHA-256 of the whole input; only once it has ended.
  var finished: (Int64, ContentHash) {
    state.withLock { ($0.tail.end, $0.wholeDigest ?? .empty) }
  }

  /// Starts an attempt: records the session and drops what the server holds durably.
  ///
  /// - Throws: `ClientError` when the server holds less than this run already dropped: those
  ///   bytes cannot be read again.
  func begin(session: String, plan: PartPlan, durable: Int64) throws {
    try state.withLock { state in
      state.sessionID = session
      guard durable >= state.tail.start else {
        throw ClientError(
          "the server holds \(durable) bytes of session \(session), fewer than the \(state.tail.start) it acknowledged; standard input cannot be read again",
          journalState: .failed)
      }
      try state.tail.acknowledge(upTo: durable)
    }
  }

  /// Records bytes read (empty: the end); returns the parts whose digests are now known.
  func append(_ data: Data, plan: PartPlan) throws -> [(part: Int, size: Int64, sha256: ContentHash)] {
    state.withLock { state in
      var done: [(part: Int, size: Int64, sha256: ContentHash)] = []
      var rest = data[...]
      var position = state.tail.end
      while !rest.isEmpty {
        let part = plan.sizing.part(containing: position)
        let end = plan.offset(ofPart: part) + plan.size(ofPart: part)
        let piece = rest.prefix(Int(min(Int64(rest.count), end - position)))
        state.part.update(data: piece)
        state.whole.update(data: piece)
        position += Int64(piece.count)
        rest = rest.dropFirst(piece.count)
        if position == end {
          let digest = ContentHash(state.part.finalize())
          state.partDigests.append(digest)
          state.part = SHA256()
          done.append((part, plan.size(ofPart: part), digest))
        }
      }
      if data.isEmpty {
        let partStart = plan.offset(ofPart: plan.sizing.part(containing: position))
        if position > partStart || position == 0 {
          // The last part, shorter than planned (or the empty object's only part).
          let digest = ContentHash(state.part.finalize())
          state.partDigests.append(digest)
          done.append((state.partDigests.count, position - partStart, digest))
        }
        state.wholeDigest = ContentHash(state.whole.finalize())
      }
      state.tail.append(data)
      return done
    }
  }

  /// The next chunk to send from `position`: held bytes up to the end of their part, or, once the
  /// input has ended and everything is sent, the empty chunk that ends the object. Nil when the
  /// input must be read first.
  func piece(from position: Int64, plan: PartPlan, limit: Int) -> Piece? {
    state.withLock { state in
      let tail = state.tail
      if position < tail.end {
        let part = plan.sizing.part(containing: position)
        let partStart = plan.offset(ofPart: part)
        let partEnd = partStart + plan.size(ofPart: part)
        let data = tail.bytes(from: position, count: Int(min(Int64(limit), partEnd - position)))
        let end = position + Int64(data.count)
        let last = end == partEnd
        let digest = state.partDigests.indices.contains(part - 1) && last ? state.partDigests[part - 1] : nil
        return Piece(part: part, offset: position - partStart, data: data, last: last, endsObject: false, digest: digest)
      }
      guard tail.inputEnded else { return nil }
      // Every byte is sent: end the object in the part holding the last byte (part 1 when empty).
      let part = max(1, state.partDigests.count)
      let partStart = plan.offset(ofPart: part)
      return Piece(
        part: part, offset: tail.end - partStart, data: Data(), last: true, endsObject: true,
        digest: state.partDigests.last ?? ContentHash.of([]))
    }
  }

  /// Records that the server holds everything before `offset`; returns the durable bytes.
  func acknowledge(upTo offset: Int64) throws -> Int64 {
    try state.withLock { state in
      try state.tail.acknowledge(upTo: offset)
      return state.tail.start
    }
  }
}
