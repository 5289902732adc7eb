import Foundation
import GRPCCore
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
