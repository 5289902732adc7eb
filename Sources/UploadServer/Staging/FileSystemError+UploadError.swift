import NIOFileSystem
import UploadCore

#if canImport(Glibc)
  import Glibc
#endif

extension UploadError {
  /// Translates a local file-system failure; a full disk becomes `.spoolFull`.
  static func fromFileSystem(_ error: any Error, while doing: String) -> UploadError {
    switch error {
    case let error as UploadError:
      return error
    case is CancellationError:
      return UploadError(.cancelled, "\(doing) was cancelled")
    case let error as FileSystemError where error.code == .resourceExhausted || error.isOutOfSpace:
      // NIO reports a write's ENOSPC (or EDQUOT) with code `.unknown`: its errno says it.
      return UploadError(.spoolFull, "\(doing): no space left on the server's disk; try again later")
    case let error as SystemCallFailure where error.errno == ENOSPC || error.errno == EDQUOT:
      return UploadError(.spoolFull, "\(doing): no space left on the server's disk; try again later")
    case let error as ExtendedAttributes.Failure where error.errno == ENOSPC:
      return UploadError(.spoolFull, "\(doing): no space left on the server's disk; try again later")
    default:
      return UploadError(.internal, "\(doing): \(error)")
    }
  }
}

extension FileSystemError {
  /// Whether the system call behind it failed for want of space: ENOSPC, or EDQUOT (a quota).
  var isOutOfSpace: Bool {
    guard let call = cause as? FileSystemError.SystemCallError else { return false }
    return call.errno == .noSpace || call.errno == .diskQuotaExceeded
  }
}
