import CFileCopy
import Foundation
import NIOFileSystem
import UploadCore

#if canImport(Glibc)
  import Glibc
#endif

/// The staging area on local disk: one directory per upload in progress.
public struct Spool: Sendable {
  /// The spool's root directory.
  public let root: FilePath
  /// What keeps it under its size limit.
  let budget: SpoolBudget

  /// A spool rooted at `root` that may hold at most `limit` bytes.
  public init(root: String, limit: Int64 = .max) {
    self.root = FilePath(root)
    self.budget = SpoolBudget(limit: limit)
  }

  /// Creates the root if needed, and removes `incoming/` (bodies a run that ended was checking)
  /// and `streams/`, where versions before the one engine staged the original contract's
  /// streams (they cannot be resumed).
  func prepare() async throws {
    try await FileSystem.shared.createDirectory(at: root, withIntermediateDirectories: true)
    _ = try await FileSystem.shared.removeItem(at: root.appending("streams"))
    _ = try await FileSystem.shared.removeItem(at: root.appending("incoming"))
  }

  /// A new file name under `incoming/`, where a request body waits for its checksum (tus);
  /// what a crash leaves there is removed at the next start.
  func stagingFile() -> FilePath {
    root.appending("incoming").appending(UUID().uuidString)
  }

  /// The directory of a resumable session's parts.
  func sessionDirectory(_ session: SessionID) -> FilePath {
    root.appending("sessions").appending(session.rawValue)
  }

  /// The spool file of part `number` of `session`.
  func partFile(session: SessionID, number: Int) -> FilePath {
    sessionDirectory(session).appending("part-\(number)")
  }

  /// Opens part `number`'s spool file of `session` for reading and writing, creating it and its
  /// directory if needed.
  func openPart(session: SessionID, number: Int) async throws -> ReadWriteFileHandle {
    try await FileSystem.shared.createDirectory(at: sessionDirectory(session), withIntermediateDirectories: true)
    return try await FileSystem.shared.openFile(
      forReadingAndWritingAt: partFile(session: session, number: number), options: .modifyFile(createIfNecessary: true))
  }

  /// Reserves the disk blocks of a part's whole spool file (open as `handle`, `bytes` long)
  /// without changing its size, so that the part's writes cannot meet a full disk: on a disk
  /// too full for it, a part is refused before its first byte, and the parts already admitted
  /// can always finish, reach the object store and free their room. Without the reservation,
  /// streams filling parts side by side could fill the disk with parts none of which can end.
  /// The room stays reserved until the file is truncated or deleted. A file system that cannot
  /// reserve is left to take its chances.
  ///
  /// - Throws: `SystemCallFailure` (ENOSPC when the disk has no room for the part).
  func reserve(_ handle: ReadWriteFileHandle, bytes: Int64) async throws {
    guard bytes > 0 else { return }
    try await handle.withUnsafeDescriptor { descriptor in
      guard uploader_reserve(descriptor.rawValue, off_t(bytes)) != 0 else { return }
      let code = errno
      guard code != EOPNOTSUPP, code != ENOSYS else { return }
      throw SystemCallFailure(errno: code, doing: "reserving \(bytes) bytes of disk for a part")
    }
  }

  /// The size of part `number`'s spool file of `session`; 0 when there is none.
  func sizeOfPart(session: SessionID, number: Int) async throws -> Int64 {
    try await FileSystem.shared.info(forFileAt: partFile(session: session, number: number))?.size ?? 0
  }

  /// Deletes part `number`'s spool file of `session`, if it is there.
  func removePart(session: SessionID, number: Int) async {
    _ = try? await FileSystem.shared.removeItem(at: partFile(session: session, number: number))
  }

  /// An empty file in `session`'s directory: the one part of an empty object.
  func emptyFile(for session: SessionID) async throws -> FilePath {
    try await makeSessionDirectory(session)
    let empty = sessionDirectory(session).appending("empty")
    try await FileSystem.shared.withFileHandle(forWritingAt: empty, options: .newFile(replaceExisting: true)) { _ in }
    return empty
  }

  /// Creates a session's directory.
  func makeSessionDirectory(_ session: SessionID) async throws {
    try await FileSystem.shared.createDirectory(at: sessionDirectory(session), withIntermediateDirectories: true)
  }

  /// The sessions that have a directory in the spool.
  func sessionsOnDisk() async -> [SessionID] {
    let directory = root.appending("sessions")
    let names =
      (try? await FileSystem.shared.withDirectoryHandle(atPath: directory) { handle in
        try await handle.listContents().reduce(into: [String]()) { $0.append($1.name.string) }
      }) ?? []
    return names.compactMap { try? SessionID(validating: $0) }
  }

  /// The part numbers that have a spool file in `session`'s directory.
  func partsOnDisk(_ session: SessionID) async -> [Int] {
    let names =
      (try? await FileSystem.shared.withDirectoryHandle(atPath: sessionDirectory(session)) { handle in
        try await handle.listContents().reduce(into: [String]()) { $0.append($1.name.string) }
      }) ?? []
    return names.compactMap { $0.hasPrefix("part-") ? Int($0.dropFirst(5)) : nil }
  }

  /// Bytes staged now (the sum of the spool's file sizes).
  func size() async -> Int64 {
    var total: Int64 = 0
    guard
      let entries = try? await FileSystem.shared.withDirectoryHandle(atPath: root, execute: { directory in
        try await directory.listContents(recursive: true).reduce(into: [DirectoryEntry]()) { $0.append($1) }
      })
    else { return 0 }
    for entry in entries where entry.type == .regular {
      total += (try? await FileSystem.shared.info(forFileAt: entry.path)?.size) ?? 0
    }
    return total
  }

  /// Removes a stream's or a session's directory and whatever is left in it.
  func remove(_ directory: FilePath) async {
    _ = try? await FileSystem.shared.removeItem(at: directory)
  }
}
