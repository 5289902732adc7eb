/// SQLite's `V5VerifiedDigests`: the SHA-256 the server computed by reading a completed object
/// back, NULL until then.
enum P2VerifiedDigests {
  static let identifier = "p2-verified-digests"

  static let sql = [
    """
    ALTER TABLE sessions ADD COLUMN verified_sha256 TEXT
    """
  ]
}
