import Crypto
import Foundation
import Synchronization
import UploadCore

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
