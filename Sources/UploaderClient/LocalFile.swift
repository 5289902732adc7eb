import Crypto
import Foundation
import NIOCore
import NIOFileSystem
import UploadCore

/// The file being uploaded: its identity, its digests, and reads at offsets. All I/O runs on
/// NIO's file-system thread pool, never on the cooperative pool.
public enum LocalFile {
  /// The file's size, modification time and inode.
  ///
  /// - Throws: `ClientError` when the file cannot be read or is not a regular file.
  public static func identity(of path: String) async throws -> FileIdentity {
    let info: FileInfo?
    do {
      info = try await FileSystem.shared.info(forFileAt: FilePath(path))
    } catch {
      throw ClientError("cannot read \(path): \(error)")
    }
    guard let info else { throw ClientError("\(path): no such file") }
    guard info.type == .regular else { throw ClientError("\(path) is not a regular file") }
    let mtime = info.lastDataModificationTime
    return FileIdentity(
      size: info.size, modificationTimeNanoseconds: Int64(mtime.seconds) * 1_000_000_000 + Int64(mtime.nanoseconds),
      inode: UInt64(info.platformSpecificStatus?.st_ino ?? 0))
  }

  /// Every part's SHA-256 and the whole file's. The two are computed by two readers at once (the
  /// second read comes from the page cache), so on two cores the pass costs one SHA-256 of the
  /// file in wall time, not two.
  ///
  /// - Parameter progress: called with the bytes of parts hashed so far.
  public static func digests(of path: String, plan: PartPlan, progress: @escaping @Sendable (Int64) -> Void = { _ in })
    async throws -> (whole: ContentHash, parts: [ContentHash])
  {
    async let whole = wholeDigest(of: path, size: plan.size)
    let parts = try await partDigests(of: path, plan: plan, progress: progress)
    return (try await whole, parts)
  }

  private static func partDigests(of path: String, plan: PartPlan, progress: @Sendable (Int64) -> Void)
    async throws -> [ContentHash]
  {
    var parts: [ContentHash] = []
    var done: Int64 = 0
    try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
      for number in stride(from: 1, through: plan.partCount, by: 1) {
        var part = SHA256()
        let start = Int64(number - 1) * plan.partSize
        for try await chunk in handle.readChunks(in: start..<(start + plan.size(ofPart: number)), chunkLength: .kibibytes(256)) {
          chunk.withUnsafeReadableBytes { part.update(bufferPointer: $0) }
          done += Int64(chunk.readableBytes)
          progress(done)
        }
        parts.append(ContentHash(part.finalize()))
      }
    }
    return parts
  }

  private static func wholeDigest(of path: String, size: Int64) async throws -> ContentHash {
    var whole = SHA256()
    try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
      for try await chunk in handle.readChunks(in: 0..<size, chunkLength: .kibibytes(256)) {
        chunk.withUnsafeReadableBytes { whole.update(bufferPointer: $0) }
      }
    }
    return ContentHash(whole.finalize())
  }
}

/// A failure the CLI reports as it is, with a non-zero exit code.
public struct ClientError: Error, CustomStringConvertible, Sendable {
  public let message: String
  /// What the journal records for the upload when this error stops it; nil leaves the journal
  /// as it is (the upload can still be resumed once the cause is gone).
  public let journalState: JournalUpload.State?

  public init(_ message: String, journalState: JournalUpload.State? = .failed) {
    self.message = message
    self.journalState = journalState
  }

  public var description: String { message }
}
