/// The names of the gRPC metadata that carry an `UploadError` beside its status: part of the
/// contract, shared by the server that sets them and the clients that read them.
public enum ErrorMetadata {
  /// The error's stable code (`UploadError.Code.rawValue`), such as `OFFSET_GAP`.
  public static let code = "uploader-error-code"
  /// With `OFFSET_GAP`: the offset within the part to send from.
  public static let expectedOffset = "uploader-expected-offset"
}
