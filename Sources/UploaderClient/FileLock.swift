#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An exclusive advisory lock (`flock`) on a file, shared by every process that takes it.
///
/// SQLite serialises writes, but GRDB's migrator reads which migrations were applied before it
/// takes the write lock. Two `uploader` processes opening a fresh journal at once would then both
/// run the first migration, and the second would fail with "table uploads already exists". The
/// journal migrates while it holds this lock.
enum FileLock {
  /// Runs `body` while this process holds the lock on `path` (created if needed), waiting for it.
  static func withExclusiveLock<Result>(path: String, _ body: () throws -> Result) throws -> Result {
    let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw FileLockError(path: path, errno: errno) }
    defer { close(descriptor) }  // closing the descriptor releases the lock
    while flock(descriptor, LOCK_EX) != 0 {
      guard errno == EINTR else { throw FileLockError(path: path, errno: errno) }
    }
    return try body()
  }
}

/// The lock file could not be opened or locked.
struct FileLockError: Error, CustomStringConvertible {
  let path: String
  let errno: Int32

  var description: String { "cannot lock \(path): \(String(cString: strerror(errno)))" }
}
