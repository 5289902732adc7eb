import Foundation
import NIOCore
import NIOFileSystem
import NIOPosix
import UploadCore

/// The file being uploaded: its identity, and a small file's bytes. Its digests come from
/// `FileDigester`; all I/O runs on NIO's thread pools, never on the cooperative pool.
public enum LocalFile {
  /// The file's size, modification time and inode.
  ///
  /// - Throws: `ClientError` when the file cannot be read or is not a regular file.
  public static func identity(of path: String) async throws -> FileIdentity {
    try await identities(of: [path])[0].get()
  }

  /// The identities of the files at `paths`, in order, each with its own error: all of them stat'ed in one job on NIO's thread pool, so a batch of many files costs
  /// one hand-over between threads, not one per file.
  public static func identities(of paths: [String]) async throws -> [Result<FileIdentity, ClientError>] {
    try await NIOThreadPool.singleton.runIfActive {
      paths.map { path in
        var status = stat()
        guard stat(path, &status) == 0 else { return .failure(readError(path, errno)) }
        guard status.st_mode & S_IFMT == S_IFREG else { return .failure(ClientError("\(path) is not a regular file")) }
        return .success(identity(from: status))
      }
    }
  }

  /// The bytes of the file at `path`, read to its end but no further than `limit` bytes past the
  /// first, with the identity of the open file before and after the read.
  ///
  /// All of it (open, stat, read, stat, close) is one job on NIO's thread pool: a small file
  /// costs one hand-over between threads, not one per call.
  ///
  /// - Throws: `ClientError` when the file cannot be opened or read.
  static func contents(of path: String, limit: Int) async throws -> (bytes: ByteBuffer, before: FileIdentity, after: FileIdentity) {
    try await NIOThreadPool.singleton.runIfActive {
      let descriptor = open(path, O_RDONLY | O_CLOEXEC)
      guard descriptor >= 0 else { throw readError(path, errno) }
      defer { close(descriptor) }
      let before = try identity(of: descriptor, path: path)
      var bytes = ByteBufferAllocator().buffer(capacity: Int(min(Int64(limit), max(0, before.size))) + 1)
      while bytes.readableBytes <= limit {
        // Into the room the buffer has: its size plus one byte, enough unless the file grew.
        let count = try bytes.writeWithUnsafeMutableBytes(minimumWritableBytes: 1) { buffer in
          while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw readError(path, errno) }
          }
        }
        if count == 0 { break }
      }
      return (bytes, before, try identity(of: descriptor, path: path))
    }
  }

  /// The identity of the open file `descriptor`.
  private static func identity(of descriptor: Int32, path: String) throws -> FileIdentity {
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { throw readError(path, errno) }
    return identity(from: status)
  }

  /// The identity `status` describes.
  private static func identity(from status: stat) -> FileIdentity {
    FileIdentity(
      size: Int64(status.st_size),
      modificationTimeNanoseconds: Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec),
      inode: UInt64(status.st_ino))
  }

  /// The error for `path` failing with `code`.
  private static func readError(_ path: String, _ code: Int32) -> ClientError {
    code == ENOENT ? ClientError("\(path): no such file") : ClientError("cannot read \(path): \(String(cString: strerror(code)))")
  }

  /// Whether `path` is a directory (following a symbolic link); false when it is anything else
  /// or cannot be read, so that `identity(of:)` says why.
  public static func isDirectory(_ path: String) async -> Bool {
    (try? await FileSystem.shared.info(forFileAt: FilePath(path)))??.type == .directory
  }
}
