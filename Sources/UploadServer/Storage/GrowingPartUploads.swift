import UploadCore

/// An object store's ability to upload a part while its bytes still arrive (S3, whose request
/// body reads the spool file behind the writer). A store offers it through
/// `ObjectStore.growingParts`; one without it is never asked, so nothing throws "not supported"
/// at run time.
public protocol GrowingPartUploads: Sendable {
  /// Uploads one part while its spool file is still being written (`growing` says how far),
  /// with the client's declared digest; the store rejects bytes that do not match it.
  ///
  /// - Returns: the part's ETag.
  func uploadPart(key: ObjectKey, uploadID: String, part: SpooledPart, growing: GrowingFile)
    async throws(UploadError) -> String
}
