/// Which door a session came in by (`SessionOrigin`), in a column of its own. Until now a
/// session of the original contract was marked by one metadata pair, `uploader-origin`, which
/// also reached its object, and a resumable session given exactly that metadata was taken for
/// one. Rows that carry the marker, and only it, are moved to the column and lose the pair.
enum V7SessionOrigin {
  static let identifier = "v7-session-origin"

  static let sql = """
    ALTER TABLE sessions ADD COLUMN origin TEXT NOT NULL DEFAULT 'resumable';
    UPDATE sessions SET origin = 'original-contract', metadata = '{}'
      WHERE metadata IN (\(SessionOriginMarker.storedForms));
    """
}

/// The metadata that marked a session of the original contract before `V7SessionOrigin`, as
/// the server stored it (JSON from `JSONSerialization`, which may escape the slash).
enum SessionOriginMarker {
  static let storedForms =
    #"'{"uploader-origin":"uploader.FileUploader\/Upload"}', '{"uploader-origin":"uploader.FileUploader/Upload"}'"#
}
