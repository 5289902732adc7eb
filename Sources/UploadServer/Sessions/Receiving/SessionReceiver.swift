import Foundation
import Synchronization
import UploadCore

/// Receiving, one job of the session engine: a stream of chunks for sessions the caller owns
/// goes through the part writers into the spool, and each received part on to the committer.
/// It holds what belongs to streams, not to sessions: the receive budget the open streams share
/// (each stream's credit) and draining. Both gRPC services hand their streams here.
public final class SessionReceiver: Sendable {
  /// The engine whose sessions it receives.
  let sessions: SessionCoordinator
  private let drainingFlag = Atomic<Bool>(false)
  /// The receive budget shared by the open upload streams.
  let credit: Mutex<ReceiveCredit>

  /// Receives for `sessions`.
  public init(sessions: SessionCoordinator) {
    self.sessions = sessions
    let settings = sessions.settings
    self.credit = Mutex(
      ReceiveCredit(
        budget: settings.receiveCreditBudget, minimum: settings.minimumStreamCredit,
        maximum: settings.maximumStreamCredit))
  }

  /// Set once the server began to stop: streams end at their next part boundary.
  var isDraining: Bool { drainingFlag.load(ordering: .relaxed) }

  /// Ends every upload stream at its next part boundary, with UNAVAILABLE (DRAINING), so its
  /// client continues on another replica instead of waiting for the drain timeout.
  public func beginDraining() {
    drainingFlag.store(true, ordering: .relaxed)
  }

  /// The part a stream is writing.
  struct Writing {
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
    let commits = AsyncSemaphore(permits: sessions.settings.maximumConcurrentCommits)
    let drained = Atomic<Bool>(false)
    do {
      try await withThrowingDiscardingTaskGroup { group in
        var writing: Writing?
        var opened: [SessionID: SessionRecord] = [:]
        do {
          chunks: for try await chunk in chunks {
            if isDraining, writing?.session.id.rawValue != chunk.sessionID || writing?.writer.number != chunk.partNumber {
              // Between parts: stop here, once this stream's commits are done.
              drained.store(true, ordering: .relaxed)
              break chunks
            }
            let id = try SessionID(validating: chunk.sessionID)
            let session: SessionRecord
            if let known = opened[id] {
              session = known
            } else {
              session = try await openSession(id, owner: owner)
              opened[id] = session
            }
            try check(chunk, in: session)
            let declared = try Self.declaredDigest(chunk)

            if writing?.session.id != id || writing?.writer.number != chunk.partNumber {
              if let previous = writing { try await release(previous, sink) }
              let writer = try sessions.writers.writer(for: session, number: chunk.partNumber)
              writing = Writing(
                session: session, writer: writer, generation: try await writer.claim())
            }
            var current = writing!
            let outcome = try await current.writer.write(
              chunk.data, offset: chunk.offset, declared: declared, last: chunk.last, endsObject: chunk.endsObject,
              generation: current.generation, acceptsUndeclaredDigest: chunk.acceptsUndeclaredDigest)
            if chunk.endsObject {
              // The size is fixed now: later chunks are checked against it.
              opened[id] = try await openSession(id, owner: owner)
            }
            switch outcome {
            case .buffered:
              let spooled = chunk.offset + Int64(chunk.data.count)
              // The interval follows the credit the client was last told, so a client that
              // keeps within it always sends enough to earn the next report.
              let told = sink.lastCredit
              if told.map({ spooled - current.reported >= ReceiveCredit.reportInterval(
                credit: $0, longestInterval: sessions.settings.spooledReportBytes) }) ?? true {
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
              let owning = opened[id] ?? current.session
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
        sessions.metrics.writersFenced.increment()
        sessions.logger.notice("stream fenced: its part was taken over", metadata: ["node": "\(sessions.store.node)", "error": "\(failure)"])
      }
      throw failure
    }
  }
}
