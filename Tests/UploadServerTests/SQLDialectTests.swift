import Testing
import UploadCore

@testable import UploadServer

/// One statement, two spellings: pure, no database needed.
@Suite struct SQLDialectTests {
  let statement = SQLStatement(
    "UPDATE t SET a = ? WHERE id IN (SELECT id FROM t WHERE b = ? LIMIT ? \(SQLStatement.skipLocked)) RETURNING *",
    [1, "x", 3])

  @Test func postgresNumbersThePlaceholdersAndKeepsTheLock() {
    #expect(
      SQLDialect.postgres.render(statement)
        == "UPDATE t SET a = $1 WHERE id IN (SELECT id FROM t WHERE b = $2 LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING *")
  }

  @Test func sqliteKeepsThePlaceholdersAndDropsTheLock() {
    #expect(SQLDialect.sqlite.render(statement) == "UPDATE t SET a = ? WHERE id IN (SELECT id FROM t WHERE b = ? LIMIT ? ) RETURNING *")
  }

  @Test func everyCatalogueStatementHasOneArgumentPerPlaceholder() throws {
    let part = PartRecord(
      sessionID: SessionID(unchecked: String(repeating: "a", count: 32)), number: 2, size: 5, receivedBytes: 1,
      expectedSHA256: nil, sha256: nil, etag: nil, state: .receiving, updatedAt: 1, generation: 3, holderNode: "n")
    let id = part.sessionID
    let statements = [
      SessionCatalogue.heartbeat(node: "n", now: 1), SessionCatalogue.partsOfLapsedNodes(lapsedBefore: 1, node: "n"),
      SessionCatalogue.forget(part), SessionCatalogue.insert(parts: [part, part][...], of: id, at: 1),
      SessionCatalogue.sessions(owner: "o", after: (1, id), limit: 2), SessionCatalogue.sessions(owner: "o", after: nil, limit: 2),
      SessionCatalogue.sessions(in: [.open, .completed]), SessionCatalogue.takePendingAborts(now: 1, leaseUntil: 2, limit: 3),
      SessionCatalogue.finishAbort(id, done: true), SessionCatalogue.close(id, as: .aborted, now: 1),
      SessionCatalogue.claim(id, number: 1, size: 2, now: 3, node: "n"), SessionCatalogue.update(part),
      SessionCatalogue.commit(id, number: 1, etag: "e", now: 1), SessionCatalogue.reset(part, to: 0, node: "n"),
      SessionCatalogue.enqueueNotification(id, .completed, at: 1), SessionCatalogue.retryNotification("x", at: 1, error: nil),
      SessionCatalogue.takeDueNotifications(now: 1, leaseUntil: 2, limit: 3), SessionCatalogue.fixSize(id, size: 1, partCount: 1),
    ]
    for statement in statements {
      #expect(statement.text.filter { $0 == "?" }.count == statement.arguments.count, "\(statement.text)")
    }
  }

  @Test func aBooleanReadsFromSQLitesIntegerAndAMismatchIsNamed() throws {
    let row = SQLRow(["flag": .integer(1), "name": .integer(7)])
    #expect(try row.boolean("flag"))
    #expect(throws: UploadError.self) { try row.text("name") }
    #expect(try row.optionalText("missing") == nil)
  }
}
