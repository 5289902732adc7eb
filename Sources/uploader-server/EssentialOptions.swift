import ArgumentParser

/// The options most servers set, first in `--help`: where to listen, where to keep data, which
/// bucket, which database.
struct EssentialOptions: ParsableArguments {
  @Option(help: "HOST:PORT to listen on; port 0 picks a free port.")
  var listen = AddressArgument(argument: "127.0.0.1:50051")!

  @Option(help: "Directory for the spool, the session database and, without S3, the objects.")
  var dataDir = "./data"

  @Option(help: "Store objects in this S3 bucket instead of the data directory (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).")
  var s3Bucket: String?

  @Option(help: ArgumentHelp("""
    Keep sessions in this PostgreSQL database, shared by every replica, instead of SQLite in the \
    data directory: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=require]. Also \
    UPLOADER_DATABASE_URL. Its tables are created (or migrated) at start.
    """, valueName: "url"))
  var database: String?
}
