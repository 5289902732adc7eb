/// Sessions of unknown size and part ownership in the database.
///
/// - `sessions.size_known` is 0 while a stream of unknown length is open (`size` and
///   `part_count` are then 0); `sessions.parts_per_tier` is the growth of its part sizes (NULL:
///   every part but the last is `part_size`).
/// - `parts.generation` counts the writers that claimed a part. Every write a writer makes is
///   conditional on the generation it claimed, so a writer that was taken over (on this server
///   or another) is refused by the database, not only by one process's memory.
/// - `sessions.abort_pending` is 1 for a session given up whose multipart upload could not be
///   aborted yet (the object store was down); the abort retrier finds it here, after a restart
///   too.
enum V3UnknownSizeAndPartGenerations {
  static let identifier = "v3-unknown-size-and-part-generations"

  static let sql = """
    ALTER TABLE sessions ADD COLUMN size_known INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE sessions ADD COLUMN parts_per_tier INTEGER;
    ALTER TABLE sessions ADD COLUMN abort_pending INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX sessions_with_pending_aborts ON sessions(abort_pending) WHERE abort_pending = 1;
    ALTER TABLE parts ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
    """
}
