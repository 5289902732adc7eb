/// The SHA-256 the server computed by reading a completed object back (CompleteSession with
/// `verify`, or VerifySession): NULL until then. Equal to `sessions.sha256` when the object is
/// verified, different when its bytes are not the ones the client described.
enum V5VerifiedDigests {
  static let identifier = "v5-verified-digests"

  static let sql = """
    ALTER TABLE sessions ADD COLUMN verified_sha256 TEXT;
    """
}
