/// Lists a principal's sessions, newest first, and counts its open ones, without a table scan.
enum V2IndexSessionsByOwner {
  static let identifier = "v2-index-sessions-by-owner"

  static let sql = """
    CREATE INDEX sessions_by_owner ON sessions(owner, created_at DESC, id DESC);
    CREATE INDEX sessions_by_owner_and_state ON sessions(owner, state);
    """
}
