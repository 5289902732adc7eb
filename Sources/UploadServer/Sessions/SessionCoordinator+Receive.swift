import Foundation
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

    public init(sessionID: String, partNumber: Int, offset: Int64, data: Data, last: Bool, partSHA256: Data) {
      self.sessionID = sessionID
      self.partNumber = partNumber
      self.offset = offset
      self.data = data
      self.last = last
      self.partSHA256 = partSHA256
    }
  }

  /// What a stream tells its client.
  public enum Event: Sendable, Hashable {
    /// `receivedBytes` of the part are durable.
    case progress(part: Int, receivedBytes: Int64)
    /// The part is in the object store.
    case committed(part: Int, sha256: ContentHash, etag: String)
  }

  /// The part a stream is writing.
  private struct Writing {
    var session: SessionRecord
    var slot: PartSlot
    var generation: UInt64
  }

  /// Receives a stream of chunks for `owner`'s sessions: writes them through the part slots, sends progress once bytes
  /// are durable, and commits each received part in a child task (a few at a time), sending
  /// `committed` when the object store has it. When the stream ends, normally or not, what was
  /// written is made durable.
  ///
  /// - Throws: `UploadError` (see `PartSlot.write`), `.sessionNotFound`, `.sessionClosed`.
  public func receive<Chunks: AsyncSequence & Sendable>(
    _ chunks: Chunks, owner: Principal, emit: @escaping @Sendable (Event) async throws -> Void
  ) async throws(UploadError) where Chunks.Element == Chunk {
    let sink = EventSink(emit)
    do {
      try await withThrowingTaskGroup(of: Void.self) { group in
        var writing: Writing?
        var sessions: [SessionID: SessionRecord] = [:]
        var inFlight = 0
        do {
          for try await chunk in chunks {
            let id = try SessionID(validating: chunk.sessionID)
            let session: SessionRecord
            if let known = sessions[id] {
              session = known
            } else {
              session = try await openSession(id, owner: owner)
              sessions[id] = session
            }
            guard session.plan.contains(part: chunk.partNumber) else {
              throw UploadError(
                .invalidRequest, "session \(id) has parts 1 to \(session.plan.partCount); got part \(chunk.partNumber)")
            }
            let declared = try Self.declaredDigest(chunk)

            if writing?.session.id != id || writing?.slot.number != chunk.partNumber {
              if let previous = writing { try await release(previous, sink) }
              let slot = try slots.slot(for: session, number: chunk.partNumber)
              writing = Writing(session: session, slot: slot, generation: await slot.claim())
            }
            let current = writing!
            let outcome = try await current.slot.write(
              chunk.data, offset: chunk.offset, declared: declared, last: chunk.last, generation: current.generation)
            switch outcome {
            case .buffered:
              break
            case .durable(let received):
              try await sink.send(.progress(part: chunk.partNumber, receivedBytes: received))
            case .alreadyReceived:
              try await sink.send(.progress(part: chunk.partNumber, receivedBytes: current.slot.size))
              writing = nil
            case .received:
              try await sink.send(.progress(part: chunk.partNumber, receivedBytes: current.slot.size))
              writing = nil
              if inFlight == settings.maximumConcurrentCommits {
                try await group.next()
                inFlight -= 1
              }
              group.addTask { try await self.commit(current, sink) }
              inFlight += 1
            }
          }
          if let last = writing { try await release(last, sink) }
        } catch {
          if let last = writing {
            // The client may be gone and the task cancelled: still make its bytes durable.
            await Task { _ = await last.slot.flush(generation: last.generation) }.value
          }
          throw error
        }
        try await group.waitForAll()
      }
    } catch {
      throw Self.streamError(error)
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

  /// Makes the bytes a stream wrote durable before it moves to another part or ends.
  private func release(_ writing: Writing, _ sink: EventSink) async throws {
    if let received = await writing.slot.flush(generation: writing.generation) {
      try await sink.send(.progress(part: writing.slot.number, receivedBytes: received))
    }
  }

  private func commit(_ writing: Writing, _ sink: EventSink) async throws {
    guard let uploadID = writing.session.storageUploadID else { return }
    let record = try await writing.slot.commit(to: objectStore, key: writing.session.key, uploadID: uploadID)
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

/// Serializes events from the receiving loop and the commit tasks onto one response stream.
private final class EventSink: Sendable {
  private let lock = AsyncLock()
  private let emit: @Sendable (SessionCoordinator.Event) async throws -> Void

  init(_ emit: @escaping @Sendable (SessionCoordinator.Event) async throws -> Void) {
    self.emit = emit
  }

  func send(_ event: SessionCoordinator.Event) async throws {
    try await lock.withLock { try await emit(event) }
  }
}
