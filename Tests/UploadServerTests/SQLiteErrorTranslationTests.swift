import GRDB
import Testing
import UploadCore

@testable import UploadServer

/// How SQLite's failures reach clients: pure, no database needed.
@Suite struct SQLiteErrorTranslationTests {
  /// A full disk under the session database is the database unable to write, which clients
  /// retry; it is not the spool that is full.
  @Test func aFullDatabaseDiskIsTheDatabaseBeingUnavailable() {
    let translated = SQLiteDatabase.translate(DatabaseError(resultCode: .SQLITE_FULL, message: "database or disk is full"))
    #expect(translated.code == .databaseUnavailable)
    #expect(translated.message.contains("out of disk space"))
  }

  @Test func anythingElseIsInternal() {
    #expect(SQLiteDatabase.translate(DatabaseError(resultCode: .SQLITE_CORRUPT)).code == .internal)
  }
}
