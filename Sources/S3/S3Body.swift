import NIOCore

/// A request body. File bodies are re-opened on every try, so a retry never replays a
/// half-consumed stream.
public enum S3Body: Sendable {
  /// No body.
  case empty
  /// Bytes in memory (small XML documents, small objects).
  case bytes(ByteBuffer)
  /// `length` bytes of the file at `path`, from `offset`, streamed in chunks.
  case file(path: String, offset: Int64, length: Int64)
  /// The first `length` bytes of the file at `path` while it is still being written: before
  /// reading up to an offset, the body awaits `available(offset)`, which returns once the file
  /// holds that many bytes and throws when they will never come.
  case growingFile(path: String, length: Int64, available: @Sendable (Int64) async throws -> Void)

  /// The body's length in bytes.
  public var length: Int64 {
    switch self {
    case .empty: 0
    case .bytes(let buffer): Int64(buffer.readableBytes)
    case .file(_, _, let length): length
    case .growingFile(_, let length, _): length
    }
  }
}
