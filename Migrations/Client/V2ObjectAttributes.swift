/// What the object will carry and whether to verify it, so that an upload resumed before its
/// session was created still asks for them: the content type (empty: the store's default), the
/// metadata as a JSON object, and `verify` (1: read the object back at completion).
enum V2ObjectAttributes {
  static let identifier = "v2-object-attributes"

  static let sql = """
    ALTER TABLE uploads ADD COLUMN content_type TEXT NOT NULL DEFAULT '';
    ALTER TABLE uploads ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE uploads ADD COLUMN verify INTEGER NOT NULL DEFAULT 0;
    """
}
