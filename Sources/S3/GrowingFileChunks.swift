import NIOCore
import NIOFileSystem

/// The chunks of a file that is still being written, read in order: each read first awaits
/// `available(end of chunk)`, so the body never reads past what the writer has written.
struct GrowingFileChunks: AsyncSequence, Sendable {
  typealias Element = ByteBuffer

  let file: ReadFileHandle
  let length: Int64
  let chunkLength: ByteCount
  let available: @Sendable (Int64) async throws -> Void

  struct AsyncIterator: AsyncIteratorProtocol {
    let chunks: GrowingFileChunks
    var offset: Int64 = 0

    mutating func next() async throws -> ByteBuffer? {
      guard offset < chunks.length else { return nil }
      let end = Swift.min(offset + chunks.chunkLength.bytes, chunks.length)
      try await chunks.available(end)
      let buffer = try await chunks.file.readChunk(fromAbsoluteOffset: offset, length: .bytes(end - offset))
      guard buffer.readableBytes == Int(end - offset) else {
        throw FileSystemError(
          code: .unknown, message: "the file ended at \(offset + Int64(buffer.readableBytes)) bytes, before \(end)",
          cause: nil, location: .init(function: #function, file: #fileID, line: #line))
      }
      offset = end
      return buffer
    }
  }

  func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunks: self) }
}
