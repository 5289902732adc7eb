import S3
import UploadCore

extension UploadError {
  /// Translates an S3 failure into the error clients see, keeping S3's code and message.
  init(_ error: S3Error, key: ObjectKey) {
    let code: UploadError.Code =
      if error.isRetryable {
        .storageUnavailable
      } else if error.code == .badDigest {
        .digestMismatch
      } else {
        .storageRejected
      }
    let advice =
      switch code {
      case .storageUnavailable: "; the object store is unreachable or failing, try again later"
      case .storageRejected where error.isAccessProblem:
        "; check the server's S3 credentials and bucket policy"
      default: ""
      }
    self.init(code, "storing \"\(key)\": \(error)\(advice)")
  }

  /// Translates any error thrown by the S3 client.
  static func fromS3(_ error: any Error, key: ObjectKey) -> UploadError {
    switch error {
    case let error as S3Error: UploadError(error, key: key)
    case is CancellationError: UploadError(.cancelled, "storing \"\(key)\" was cancelled")
    default: UploadError(.internal, "storing \"\(key)\": \(error)")
    }
  }
}
