#if canImport(Glibc)
  import Glibc
#endif

/// A system call made directly (not through NIO) that failed, with its errno.
struct SystemCallFailure: Error, CustomStringConvertible {
  let errno: Int32
  /// What was being done, for the message.
  let doing: String

  var description: String { "\(doing): \(String(cString: strerror(errno)))" }
}
