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

  /// The body's length in bytes.
  public var length: Int64 {
    switch self {
    case .empty: 0
    case .bytes(let buffer): Int64(buffer.readableBytes)
    case .file(_, _, let length): length
    }
  }
}
