import Foundation
import Synchronization
import UploadCore

extension SessionCoordinator {
  /// One chunk of a part, as a stream carries it.
  public struct Chunk: Sendable {
    public var sessionID: String
    public var partNumber: Int
    public var offset: Int64
    public var data: Data
    public var last: Bool
    /// The part's SHA-256 as 32 bytes, or empty.
    public var partSHA256: Data
    /// The object ends with this chunk (sessions of unknown size).
    public var endsObject: Bool
    /// Receive the part as its bytes hash when no digest is declared: set by the original
    /// contract's adapter, whose client declares none; never from the wire.
    var acceptsUndeclaredDigest = false

    public init(
      sessionID: String, partNumber: Int, offset: Int64, data: Data, last: Bool, partSHA256: Data,
      endsObject: Bool = false
    ) {
      self.sessionID = sessionID
      self.partNumber = partNumber
      self.offset = offset
      self.data = data
      self.last = last
      self.partSHA256 = partSHA256
      self.endsObject = endsObject
    }
  }

  /// What a stream tells its client.
  public enum Event: Sendable, Hashable {
    /// `receivedBytes` of the part are durable.
    case progress(part: Int, receivedBytes: Int64)
    /// The first `bytes` of the part are in the spool, not yet durable.
    case spooled(part: Int, bytes: Int64)
    /// The part is in the object store.
    case committed(part: Int, sha256: ContentHash, etag: String)
  }

  /// The part a stream is writing.
  private struct Writing {
    var session: SessionRecord
    var writer: PartWriter
    var generation: UInt64
    /// The spooled bytes last reported to the client.
    var reported: Int64 = 0
  }

  /// Receives a stream of chunks for `owner`'s sessions: writes them through the part writers,
  /// reports what it has spooled (its first chunk at once, then every quarter of its credit or
  /// `spooledReportBytes`), sends progress once bytes are durable, and commits each received part in a child task (a
  /// few at a time; when that many are in flight the stream is not read, so flow control holds
  /// the client back), sending `committed` when the object store has it. When the stream ends,
  /// normally or not, what was written is made durable. Every event goes to `emit` with the
  /// stream's credit at that moment: its share of `receiveCreditBudget`.
  ///
  /// - Throws: `UploadError` (see `PartWriter.write`), `.sessionNotFound`, `.sessionClosed`,
  ///   `.objectTooLarge`.
  public func receive<Chunks: AsyncSequence>(
    _ chunks: Chunks, owner: Principal, emit: @escaping @Sendable (Event, _ creditBytes: Int64) async throws -> Void
  ) async throws(UploadError) where Chunks.Element == Chunk {
    credit.withLock { $0.open() }
    defer { credit.withLock { $0.close() } }
    let sink = EventSink(emit, credit: { self.credit.withLock { $0.perStream } })
    let commits = AsyncSemaphore(permits: settings.maximumConcurrentCommits)
    let drained = Atomic<Bool>(false)
    do {
      try await withThrowingDiscardingTaskGroup { group in
        var writing: Writing?
        var sessions: [SessionID: SessionRecord] = [:]
        do {
          chunks: for try await chunk in chunks {
            if isDraining, writing?.session.id.rawValue != chunk.sessionID || writing?.writer.number != chunk.partNumber {
              // Between parts: stop here, once this stream's commits are done.
              drained.store(true, ordering: .relaxed)
              break chunks
            }
            let id = try SessionID(validating: chunk.sessionID)
            let session: SessionRecord
            if let known = sessions[id] {
              session = known
            } else {
              session = try await openSession(id, owner: owner)
              sessions[id] = session
            }
            try check(chunk, in: session)
            let declared = try Self.declaredDigest(chunk)

            if writing?.session.id != id || writing?.writer.number != chunk.partNumber {
              if let previous = writing { try await release(previous, sink) }
              let writer = try writers.writer(for: session, number: chunk.partNumber)
              writing = Writing(
                session: session, writer: writer, generation: try await writer.claim())
            }
            var current = writing!
            let outcome = try await current.writer.write(
              chunk.data, offset: chunk.offset, declared: declared, last: chunk.last, endsObject: chunk.endsObject,
              generation: current.generation, acceptsUndeclaredDigest: chunk.acceptsUndeclaredDigest)
            if chunk.endsObject {
              // The size is fixed now: later chunks are checked against it.
              sessions[id] = try await openSession(id, owner: owner)
            }
            switch outcome {
            case .buffered:
              let spooled = chunk.offset + Int64(chunk.data.count)
              // The interval follows the credit the client was last told, so a client that
              // keeps within it always sends enough to earn the next report.
              let told = sink.lastCredit
              if told.map({ spooled - current.reported >= ReceiveCredit.reportInterval(
                credit: $0, longestInterval: settings.spooledReportBytes) }) ?? true {
                current.reported = spooled
                writing = current
                try await sink.send(.spooled(part: chunk.partNumber, bytes: spooled))
              }
            case .durable(let received):
              // Spooled reports continue from here, one interval on.
              current.reported = max(current.reported, received)
              writing = current
              try await sink.send(.progress(part: chunk.partNumber, receivedBytes: received))
            case .alreadyReceived(let size):
              try await sink.send(.progress(part: chunk.partNumber, receivedBytes: size))
              writing = nil
            case .received(let part):
              try await sink.send(.progress(part: chunk.partNumber, receivedBytes: part.size))
              writing = nil
              let owning = sessions[id] ?? current.session
              // An empty object has no part to commit.
              guard owning.plan.contains(part: part.number) else { continue }
              let added = try await group.addTask(holding: commits) {
                try await self.commit(part, of: owning, sink)
              }
              // A commit failed: the group ends the stream with its error.
              if !added { break chunks }
            }
          }
          if let last = writing { try await release(last, sink) }
        } catch {
          if let last = writing {
            // The client may be gone and the task cancelled: still make its bytes durable.
            _ = await last.writer.flush(generation: last.generation)
          }
          throw error
        }
      }
      if drained.load(ordering: .relaxed) {
        throw UploadError(.draining, "the server is shutting down; continue on another replica or reconnect")
      }
    } catch {
      let failure = Self.streamError(error)
      if failure.code == .partTakenOver {
        metrics.writersFenced.increment()
        logger.notice("stream fenced: its part was taken over", metadata: ["node": "\(store.node)", "error": "\(failure)"])
      }
      throw failure
    }
  }

  /// A session that accepts parts.
  private func openSession(_ id: SessionID, owner: Principal) async throws(UploadError) -> SessionRecord {
    let session = try await session(id, owner: owner)
    guard session.state.acceptsParts else {
      throw UploadError(.sessionClosed, "session \(id) is \(session.state.rawValue); it accepts no more parts")
    }
    return session
  }

  /// Refuses a chunk for a part the session cannot have, past the largest object, or ending a
  /// session of known size anywhere but at its end.
  private func check(_ chunk: Chunk, in session: SessionRecord) throws(UploadError) {
    let plan = session.plan
    guard plan.contains(part: chunk.partNumber) else {
      throw UploadError(
        .invalidRequest,
        plan.isSizeKnown
          ? "session \(session.id) has parts 1 to \(plan.partCount); got part \(chunk.partNumber)"
          : "a session of unknown size has parts 1 to \(plan.partCount); got part \(chunk.partNumber)")
    }
    if plan.isSizeKnown {
      guard !chunk.endsObject || chunk.partNumber == plan.partCount else {
        throw UploadError(
          .invalidRequest,
          "session \(session.id) is \(plan.size ?? 0) bytes, ending in part \(plan.partCount); part \(chunk.partNumber) cannot end it")
      }
    } else {
      let end = plan.offset(ofPart: chunk.partNumber) + chunk.offset + Int64(chunk.data.count)
      guard end <= settings.maximumObjectSize else {
        throw UploadError(
          .objectTooLarge, "the object is larger than \(settings.maximumObjectSize) bytes, the most this server accepts")
      }
    }
  }

  /// Makes the bytes a stream wrote durable before it moves to another part or ends.
  private func release(_ writing: Writing, _ sink: EventSink) async throws {
    if let received = await writing.writer.flush(generation: writing.generation) {
      try await sink.send(.progress(part: writing.writer.number, receivedBytes: received))
    }
  }

  private func commit(_ part: PartRecord, of session: SessionRecord, _ sink: EventSink) async throws {
    guard session.storageUploadID != nil else { return }
    let record = try await writers.commit(part, of: session)
    try await sink.send(.committed(part: record.number, sha256: record.sha256 ?? .empty, etag: record.etag ?? ""))
  }

  private static func declaredDigest(_ chunk: Chunk) throws(UploadError) -> ContentHash? {
    guard !chunk.partSHA256.isEmpty else { return nil }
    guard let digest = ContentHash(bytes: Array(chunk.partSHA256)) else {
      throw UploadError(
        .invalidRequest, "part_sha256 is \(chunk.partSHA256.count) bytes; a SHA-256 is 32 bytes")
    }
    return digest
  }

  private static func streamError(_ error: any Error) -> UploadError {
    switch error {
    case let error as UploadError: error
    case is CancellationError: UploadError(.cancelled, "the stream was cancelled")
    default: UploadError(.cancelled, "the request stream ended abnormally: \(error)")
    }
  }
}

/// Serializes events from the receiving loop and the commit tasks onto one response stream,
/// each with the stream's credit when it is sent.
private final class EventSink: Sendable {
  private let lock = AsyncSemaphore(permits: 1)
  private let emit: @Sendable (SessionCoordinator.Event, Int64) async throws -> Void
  /// The stream's credit now.
  private let credit: @Sendable () -> Int64
  /// The credit of the last event sent; 0 before the first.
  private let told = Atomic<Int64>(0)

  init(
    _ emit: @escaping @Sendable (SessionCoordinator.Event, Int64) async throws -> Void,
    credit: @escaping @Sendable () -> Int64
  ) {
    self.emit = emit
    self.credit = credit
  }

  /// The credit the last event sent carried; nil before the first, which tells the client its
  /// credit and should therefore come at once.
  var lastCredit: Int64? {
    let credit = told.load(ordering: .relaxed)
    return credit > 0 ? credit : nil
  }

  func send(_ event: SessionCoordinator.Event) async throws {
    try await lock.withPermit {
      let credit = credit()
      told.store(max(1, credit), ordering: .relaxed)
      try await emit(event, credit)
    }
  }
}
