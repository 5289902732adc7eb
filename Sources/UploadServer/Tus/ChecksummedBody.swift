import Foundation
import NIOCore
import NIOFileSystem
import UploadCore

/// A PATCH body with an `Upload-Checksum`, staged in the spool while it is hashed, and handed
/// to the engine only once it matches: a body that does not match leaves nothing behind. The
/// body is never held in memory whole.
struct ChecksummedBody: Sendable {
  let path: FilePath

  /// Reads the body into a staging file and checks it against `checksum`.
  ///
  /// - Throws: `.digestMismatch` (nothing kept); `.spoolFull`; `.cancelled` when the client
  ///   went away.
  static func stage(_ body: HTTPRequestBody, checksum: TusChecksum, spool: Spool) async throws(UploadError)
    -> ChecksummedBody
  {
    let staged = ChecksummedBody(path: spool.stagingFile())
    do {
      try await FileSystem.shared.createDirectory(
        at: staged.path.removingLastComponent(), withIntermediateDirectories: true)
      var hasher = checksum.makeHasher()
      try await FileSystem.shared.withFileHandle(forWritingAt: staged.path, options: .newFile(replaceExisting: true)) {
        file in
        var offset: Int64 = 0
        while let buffer = try await body.next() {
          hasher.update(data: buffer.readableBytesView)
          try await file.write(contentsOf: buffer, toAbsoluteOffset: offset)
          offset += Int64(buffer.readableBytes)
        }
      }
      guard hasher.finalize() == checksum.digest else {
        throw UploadError(
          .digestMismatch,
          "the body does not match its Upload-Checksum (\(checksum.algorithm.rawValue)); nothing of it was kept, send it again")
      }
      return staged
    } catch {
      await staged.remove()
      if error is HTTPBodyError { throw UploadError(.cancelled, "the client closed the connection before the body's end") }
      throw UploadError.fromFileSystem(error, while: "staging a checksummed body")
    }
  }

  /// Reads the staged body in pieces of 1 MiB.
  func makeReader() -> () async throws -> ByteBuffer? {
    let path = path
    let position = PositionBox()
    return {
      let chunk = try await FileSystem.shared.withFileHandle(forReadingAt: path) { file in
        try await file.readChunk(fromAbsoluteOffset: position.offset, length: .mebibytes(1))
      }
      guard chunk.readableBytes > 0 else { return nil }
      position.offset += Int64(chunk.readableBytes)
      return chunk
    }
  }

  func remove() async {
    _ = try? await FileSystem.shared.removeItem(at: path)
  }
}

/// The read position of one reader, used by one task.
private final class PositionBox {
  var offset: Int64 = 0
}
