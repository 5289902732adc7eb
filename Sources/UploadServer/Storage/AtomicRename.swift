import Foundation
import NIOFileSystem
import NIOPosix

#if canImport(Glibc)
  import Glibc
#endif

/// `rename(2)` off the cooperative pool: replaces the destination atomically. Across file
/// systems (EXDEV) it copies beside the destination first, then renames.
enum AtomicRename {
  struct Failure: Error, CustomStringConvertible {
    let errno: Int32
    let from: FilePath
    let to: FilePath
    var description: String { "rename \(from) -> \(to): \(String(cString: strerror(errno)))" }
  }

  static func rename(_ from: FilePath, to: FilePath) async throws {
    let failure: Int32 = try await NIOThreadPool.singleton.runIfActive {
      Glibc.rename(from.string, to.string) == 0 ? 0 : Glibc.errno
    }
    switch failure {
    case 0:
      return
    case EXDEV:
      let temporary = FilePath(to.string + ".tmp-" + UUID().uuidString)
      try await FileSystem.shared.copyItem(at: from, to: temporary)
      try await rename(temporary, to: to)
      _ = try await FileSystem.shared.removeItem(at: from)
    default:
      throw Failure(errno: failure, from: from, to: to)
    }
  }
}
