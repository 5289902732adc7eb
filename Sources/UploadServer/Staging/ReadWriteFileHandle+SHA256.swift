import Crypto
import NIOFileSystem

extension ReadWriteFileHandle {
  /// The SHA-256 state of the file's first `length` bytes, to be continued with what is written
  /// after them (a spool file reopened, or a part whose declared digest changed).
  func sha256(upTo length: Int64) async throws -> SHA256 {
    var hasher = SHA256()
    if length > 0 {
      for try await chunk in readChunks(in: 0..<length, chunkLength: .mebibytes(1)) {
        chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
      }
    }
    return hasher
  }
}
