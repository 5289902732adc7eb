import Crypto
import Foundation
import GRPCCore
import UploadCore
import UploadProtocol

/// The original contract's `{filename, chunk}` messages as chunks of a session of unknown size:
/// each message's bytes are cut at part boundaries, and the chunk holding the last byte ends the
/// object. To know which chunk that is, one message is read ahead; nothing else is buffered.
///
/// Also computes the SHA-256 of the whole stream, which the adapter reports and completes with.
struct ContractChunks: AsyncSequence {
  typealias Element = SessionReceiver.Chunk

  let session: SessionRecord
  let filename: String
  let first: Data
  let rest: RPCAsyncSequence<Uploader_UploadRequest, any Error>.AsyncIterator
  /// Receives the stream's digest once its last byte is read.
  let digest: @Sendable (ContentHash, Int64) -> Void

  func makeAsyncIterator() -> Iterator {
    Iterator(chunks: self, current: first[...], messages: rest)
  }

  struct Iterator: AsyncIteratorProtocol {
    let chunks: ContractChunks
    /// Bytes read and not yet handed out.
    var current: Data
    var messages: RPCAsyncSequence<Uploader_UploadRequest, any Error>.AsyncIterator
    var ended = false
    var done = false
    var part = 1
    var offset: Int64 = 0
    var total: Int64 = 0
    var hasher = SHA256()

    init(chunks: ContractChunks, current: Data, messages: RPCAsyncSequence<Uploader_UploadRequest, any Error>.AsyncIterator) {
      self.chunks = chunks
      self.current = current
      self.messages = messages
    }

    mutating func next() async throws -> SessionReceiver.Chunk? {
      guard !done else { return nil }
      try await fill()
      if current.isEmpty {
        // Only an empty stream gets here: any other ended on the chunk with its last byte.
        done = true
        chunks.digest(ContentHash(hasher.finalize()), total)
        return chunk(Data(), last: true, endsObject: true)
      }
      let plan = chunks.session.plan
      guard plan.contains(part: part) else {
        throw UploadError(.objectTooLarge, "\"\(chunks.filename)\" is larger than \(PartSizing.maximumPartCount) parts can hold")
      }
      let room = plan.size(ofPart: part) - offset
      let piece = current.prefix(Int(Swift.min(room, Int64(current.count))))
      current = current.dropFirst(piece.count)
      try await fill()
      let endsObject = current.isEmpty
      let full = Int64(piece.count) == room
      hasher.update(data: piece)
      total += Int64(piece.count)
      let result = chunk(piece, last: full || endsObject, endsObject: endsObject)
      if full {
        part += 1
        offset = 0
      } else {
        offset += Int64(piece.count)
      }
      if endsObject {
        done = true
        chunks.digest(ContentHash(hasher.finalize()), total)
      }
      return result
    }

    private func chunk(_ data: Data, last: Bool, endsObject: Bool) -> SessionReceiver.Chunk {
      var chunk = SessionReceiver.Chunk(
        sessionID: chunks.session.id.rawValue, partNumber: part, offset: offset, data: data, last: last,
        partSHA256: Data(), endsObject: endsObject)
      chunk.acceptsUndeclaredDigest = true
      return chunk
    }

    /// Reads messages until there are bytes to hand out or the stream has ended.
    private mutating func fill() async throws {
      while current.isEmpty && !ended {
        let message: Uploader_UploadRequest?
        do {
          message = try await messages.next()
        } catch {
          throw UploadError.fromRequestStream(error)
        }
        guard let message else {
          ended = true
          return
        }
        guard message.filename.isEmpty || message.filename == chunks.filename else {
          throw UploadError(
            .invalidRequest,
            "the stream changed filename from \"\(chunks.filename)\" to \"\(message.filename)\"; one stream carries one file")
        }
        current = message.chunk
      }
    }
  }
}
