/// Uploads started together from a directory (`uploader upload DIR`) share a batch id, so that
/// `uploader status` shows them together and `uploader resume BATCH` continues every unfinished
/// one. NULL for an upload of one file.
enum V3Batches {
  static let identifier = "v3-batches"

  static let sql = """
    ALTER TABLE uploads ADD COLUMN batch_id TEXT;
    CREATE INDEX uploads_by_batch ON uploads(batch_id);
    """
}
