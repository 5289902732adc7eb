/// Which door a session came in by, kept in its own column (`sessions.origin`), apart from the
/// user's metadata, which goes to the object as it was given.
public enum SessionOrigin: String, Sendable, Hashable, CaseIterable {
  /// Created by `CreateSession`: its client can come back and resume it.
  case resumable
  /// Created for one stream of the original contract (`uploader.FileUploader/Upload`): its
  /// client cannot resume, so a stream cut by a restart or a lapsed node is aborted.
  case originalContract = "original-contract"
  /// Created by a tus 1.0 `POST` on the HTTP listener: its client resumes from `HEAD`.
  case tus
}
