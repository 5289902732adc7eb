import Foundation
import NIOCore
import NIOFileSystem
import UploadCore

/// The file being uploaded: its identity. Its digests come from `FileDigester`; all I/O runs on
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
    return identity(from: info)
  }

  /// The identity `info` describes (from a stat of the path or of an open handle).
  static func identity(from info: FileInfo) -> FileIdentity {
    let mtime = info.lastDataModificationTime
    return FileIdentity(
      size: info.size, modificationTimeNanoseconds: Int64(mtime.seconds) * 1_000_000_000 + Int64(mtime.nanoseconds),
      inode: UInt64(info.platformSpecificStatus?.st_ino ?? 0))
  }

  /// Whether `path` is a directory (following a symbolic link); false when it is anything else
  /// or cannot be read, so that `identity(of:)` says why.
  public static func isDirectory(_ path: String) async -> Bool {
    (try? await FileSystem.shared.info(forFileAt: FilePath(path)))??.type == .directory
  }
}

/// A failure the CLI reports as it is, with a non-zero exit code.
public struct ClientError: Error, CustomStringConvertible, Sendable {
  /// What happened and what to do, for people.
  public let message: String
  /// What the journal records for the upload when this error stops it; nil leaves the journal
  /// as it is (the upload can still be resumed once the cause is gone).
  public let journalState: JournalUpload.State?

  /// An error; `journalState` is what the journal records for the upload it stops.
  public init(_ message: String, journalState: JournalUpload.State? = .failed) {
    self.message = message
    self.journalState = journalState
  }

  /// The message.
  public var description: String { message }
}
