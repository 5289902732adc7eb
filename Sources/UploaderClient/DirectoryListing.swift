import NIOFileSystem
import UploadCore

/// The regular files under a directory, for `uploader upload DIR`: walked through NIO's file
/// system (off the cooperative pool), filtered by a `PathFilter`, in path order.
public struct DirectoryListing: Sendable {
  /// A file to upload.
  public struct File: Sendable, Hashable {
    /// Its absolute path.
    public var path: String
    /// Its path below the directory, `/`-separated: the key below the key prefix.
    public var relativePath: String
  }

  /// The files taken, sorted by relative path.
  public var files: [File]
  /// Symbolic links not followed (relative paths), without `followSymlinks`.
  public var skippedSymlinks: [String]
  /// Entries that are neither files nor directories (sockets, devices, FIFOs), or links to
  /// nothing, which are never uploaded.
  public var skippedOther: [String]

  /// Lists `root`.
  ///
  /// - Parameter followSymlinks: upload the files links point to, and walk the directories they
  ///   point to (a directory reached twice, as by a link cycle, is walked once).
  /// - Throws: `ClientError` when `root` or a directory below it cannot be read.
  public static func list(_ root: String, filter: PathFilter, followSymlinks: Bool) async throws -> DirectoryListing {
    var listing = DirectoryListing(files: [], skippedSymlinks: [], skippedOther: [])
    var visited: Set<[Int]> = []
    try await walk(FilePath(root), relative: "", filter: filter, follow: followSymlinks, visited: &visited, into: &listing)
    listing.files.sort { $0.relativePath < $1.relativePath }
    return listing
  }

  private static func walk(
    _ directory: FilePath, relative: String, filter: PathFilter, follow: Bool, visited: inout Set<[Int]>,
    into listing: inout DirectoryListing
  ) async throws {
    do {
      if let identity = try await identity(directory), !visited.insert(identity).inserted { return }
      var entries: [(name: String, type: FileType)] = []
      try await FileSystem.shared.withDirectoryHandle(atPath: directory) { handle in
        for try await entry in handle.listContents() { entries.append((entry.name.string, entry.type)) }
      }
      for (name, type) in entries {
        let path = directory.appending(name)
        let relativePath = relative.isEmpty ? name : relative + "/" + name
        var resolved = type
        if type == .unknown {
          // A file system that does not say in the listing (no d_type): ask.
          resolved = try await FileSystem.shared.info(forFileAt: path, infoAboutSymbolicLink: true)?.type ?? .unknown
        }
        if resolved == .symlink {
          guard follow else {
            listing.skippedSymlinks.append(relativePath)
            continue
          }
          resolved = try await FileSystem.shared.info(forFileAt: path, infoAboutSymbolicLink: false)?.type ?? .unknown
        }
        switch resolved {
        case .regular:
          if filter.accepts(relativePath) { listing.files.append(File(path: path.string, relativePath: relativePath)) }
        case .directory:
          try await walk(path, relative: relativePath, filter: filter, follow: follow, visited: &visited, into: &listing)
        default:
          listing.skippedOther.append(relativePath)
        }
      }
    } catch let error as ClientError {
      throw error
    } catch {
      throw ClientError("cannot list \(directory): \(error)", journalState: nil)
    }
  }

  /// Device and inode, so a directory reached again through a link is recognised.
  private static func identity(_ directory: FilePath) async throws -> [Int]? {
    guard let status = try await FileSystem.shared.info(forFileAt: directory, infoAboutSymbolicLink: false)?.platformSpecificStatus
    else { return nil }
    return [Int(status.st_dev), Int(status.st_ino)]
  }
}
