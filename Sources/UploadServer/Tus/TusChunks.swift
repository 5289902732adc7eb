import Foundation
import NIOCore
import Synchronization
import UploadCore

/// A PATCH body as chunks of the session's parts: the bytes from `offset` on are cut at part
/// boundaries, gathered into chunks of up to `chunkSize`, and the chunk that reaches `endsAt`
/// ends the object (for a session of unknown size; a known size ends by itself). The part
/// writer hashes each part itself, as for the original contract.
///
/// Nothing is buffered beyond one chunk; the body is read as the receiver asks for chunks.
struct TusChunks: AsyncSequence {
  typealias Element = SessionReceiver.Chunk

  let session: SessionRecord
  let offset: Int64
  /// Where the object ends, if known: the session's size, or the `Upload-Length` of the PATCH
  /// that carries the last byte.
  let endsAt: Int64?
  let chunkSize: Int
  /// The next piece of the body; nil at its end.
  let read: () async throws -> ByteBuffer?
  /// Counts the bytes handed out.
  let counter: ByteCounter

  func makeAsyncIterator() -> Iterator { Iterator(chunks: self, position: offset) }

  struct Iterator: AsyncIteratorProtocol {
    let chunks: TusChunks
    /// The object offset of the next byte.
    var position: Int64
    /// Bytes read and not yet handed out.
    var pending = ByteBuffer()
    var bodyEnded = false
    var done = false

    mutating func next() async throws -> SessionReceiver.Chunk? {
      guard !done else { return nil }
      let plan = chunks.session.plan
      if let size = plan.size, position == size {
        // Nothing is left of a known size; bytes past it are refused.
        if let buffer = try await chunks.read(), buffer.readableBytes > 0 {
          throw UploadError(.objectTooLarge, "the body goes past the upload's length, \(size) bytes")
        }
        done = true
        return nil
      }
      let part = plan.sizing.part(containing: position)
      guard plan.contains(part: part) else {
        throw UploadError(.objectTooLarge, "the body goes past the upload's length, \(plan.size ?? 0) bytes")
      }
      let partStart = plan.offset(ofPart: part)
      let partEnd = partStart + plan.size(ofPart: part)
      var room = Swift.min(Int64(chunks.chunkSize), partEnd - position)
      if let end = chunks.endsAt { room = Swift.min(room, Swift.max(0, end - position)) }
      while Int64(pending.readableBytes) <= room, !bodyEnded {
        guard var buffer = try await chunks.read() else {
          bodyEnded = true
          break
        }
        pending.writeBuffer(&buffer)
      }
      if let end = chunks.endsAt, position + Int64(pending.readableBytes) > end {
        throw UploadError(.objectTooLarge, "the body goes past the upload's length, \(end) bytes")
      }
      let take = Int(Swift.min(room, Int64(pending.readableBytes)))
      // Only a session of unknown size is ended by a chunk; a known size ends by itself.
      let endsObject = !plan.isSizeKnown && chunks.endsAt == position + Int64(take) && bodyEnded
        && pending.readableBytes == take
      guard take > 0 || endsObject else {
        done = true
        return nil
      }
      let data = Data(pending.readSlice(length: take)!.readableBytesView)
      pending.discardReadBytes()
      var chunk: SessionReceiver.Chunk
      if take == 0 && position > 0 && position == partStart {
        // The object ends where the previous part ended: an empty chunk at that part's end says so.
        chunk = SessionReceiver.Chunk(
          sessionID: chunks.session.id.rawValue, partNumber: part - 1, offset: plan.size(ofPart: part - 1),
          data: data, last: true, partSHA256: Data(), endsObject: true)
      } else {
        chunk = SessionReceiver.Chunk(
          sessionID: chunks.session.id.rawValue, partNumber: part, offset: position - partStart, data: data,
          last: position + Int64(take) == partEnd || endsObject, partSHA256: Data(), endsObject: endsObject)
      }
      chunk.acceptsUndeclaredDigest = true
      position += Int64(take)
      chunks.counter.add(take)
      if endsObject { done = true }
      return chunk
    }
  }
}

/// Bytes handed to the engine by a PATCH.
final class ByteCounter: Sendable {
  private let bytes = Atomic<Int64>(0)
  var count: Int64 { bytes.load(ordering: .relaxed) }
  func add(_ count: Int) { bytes.add(Int64(count), ordering: .relaxed) }
}
