import CFileCopy
import NIOFileSystem
import NIOPosix

#if canImport(Glibc)
  import Glibc
#endif

/// Joins files into one with `copy_file_range(2)`, off the cooperative pool: the kernel moves
/// the bytes (or shares the blocks, on file systems with reflinks), so no byte passes through
/// this process. The files are always in one directory, so on one file system, where Linux
/// (since 4.5) copies between any two files.
enum FileConcatenation {
  /// Writes `sources`, in order, to a new file at `destination` (replacing one that exists) and
  /// makes it durable. Returns the bytes written.
  static func concatenate(_ sources: [FilePath], into destination: FilePath) async throws -> Int64 {
    try await NIOThreadPool.singleton.runIfActive {
      let output = open(destination.string, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
      guard output >= 0 else { throw SystemCallFailure(errno: errno, doing: "creating \(destination)") }
      defer { close(output) }
      var total: Int64 = 0
      for source in sources {
        let input = open(source.string, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw SystemCallFailure(errno: errno, doing: "opening \(source)") }
        defer { close(input) }
        total += try copy(from: input, to: output, describing: source)
      }
      guard fsync(output) == 0 else { throw SystemCallFailure(errno: errno, doing: "syncing \(destination)") }
      return total
    }
  }

  /// Copies all of `input` (from its start) to `output` (at its current offset).
  private static func copy(from input: Int32, to output: Int32, describing source: FilePath) throws -> Int64 {
    var copied: Int64 = 0
    while true {
      let moved = uploader_copy_file_range(input, output, 1 << 30)
      if moved > 0 {
        copied += Int64(moved)
      } else if moved == 0 {
        return copied
      } else if errno != EINTR {
        throw SystemCallFailure(errno: errno, doing: "copying \(source)")
      }
    }
  }
}
