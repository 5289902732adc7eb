/// How an upload was asked to be sent (`--parallel`, `--connections`, `--max-connections`,
/// `--limit-rate`, `--congestion-control`), as JSON of the options given: `uploader resume`
/// sends the same way unless told otherwise. '{}' for uploads recorded before.
enum V4SendingChoices {
  static let identifier = "v4-sending-choices"

  static let sql = """
    ALTER TABLE uploads ADD COLUMN sending TEXT NOT NULL DEFAULT '{}';
    """
}
