import Foundation
import Synchronization
import GRDB
import Testing
import UploadCore
import UploaderClient

/// Holds a database's writer until released.
private final class Hold: Sendable {
  let state = Mutex((held: false, released: false))
}

@Suite struct JournalTests {
  func upload(_ id: String = "abc123") -> JournalUpload {
    JournalUpload(
      id: id, server: "127.0.0.1:50051", filePath: "/data/file.bin", key: "file.bin",
      identity: FileIdentity(size: 12 << 20, modificationTimeNanoseconds: 1_700_000_000_123_456_789, inode: 42),
      partSize: 8 << 20, state: .pending, sha256: .empty, createdAt: 1_000)
  }

  @Test func migrationsCreateTheSchema() throws {
    let database = try DatabaseQueue()
    _ = try Journal(database: database)
    let tables = try database.read { db in
      try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb%' ORDER BY name")
    }
    #expect(tables == ["upload_parts", "uploads"])
    // Migrating again is a no-op.
    _ = try Journal(database: database)
  }

  /// `uploader status` and `uploader upload` started together on a fresh state directory both
  /// create the journal: neither may fail because the other ran the migrations first.
  @Test func concurrentOpensOfAFreshJournalAllSucceed() throws {
    for _ in 0..<10 {
      let directory = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID())").path
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let failures = Mutex<[String]>([])
      DispatchQueue.concurrentPerform(iterations: 6) { _ in
        do { _ = try Journal.open(directory: directory) } catch { failures.withLock { $0.append("\(error)") } }
      }
      #expect(failures.withLock { $0 } == [])
    }
  }

  @Test func remembersUploadsPartsAndProgress() async throws {
    let journal = try Journal(database: DatabaseQueue())
    let parts = [
      JournalPart(number: 1, size: 8 << 20, sha256: .empty), JournalPart(number: 2, size: 4 << 20, sha256: .empty),
    ]
    try await journal.insert(upload(), parts: parts)
    #expect(try await journal.upload("abc123") == upload())

    try await journal.started("abc123", sessionID: "s1")
    #expect(try await journal.upload("s1")?.state == .uploading)
    try await journal.acknowledged("abc123", part: 2, bytes: 4 << 20, committed: false)
    try await journal.acknowledged("abc123", part: 2, bytes: 1 << 20, committed: true)
    let stored = try await journal.parts(of: "abc123")
    #expect(stored[1].acknowledgedBytes == 4 << 20 && stored[1].committed)
    #expect(stored[0].acknowledgedBytes == 0)

    try await journal.finish("abc123", state: .failed, error: "boom", at: 2_000)
    let failed = try #require(try await journal.upload("abc123"))
    #expect(failed.state == .failed && failed.error == "boom" && failed.finishedAt == 2_000)
  }

  @Test func recordsAnObjectStoredWholeCompletedInOneStep() async throws {
    let journal = try Journal(database: DatabaseQueue())
    var small = upload("small1")
    (small.identity.size, small.sha256) = (40_000, nil)
    try await journal.insert(small, parts: [JournalPart(number: 1, size: 40_000, sha256: nil)])
    let digest = ContentHash.of(Array("forty thousand".utf8))
    try await journal.stored("small1", sessionID: "s9", sha256: digest, at: 3_000)

    let stored = try #require(try await journal.upload("small1"))
    #expect(stored.state == .completed && stored.sessionID == "s9" && stored.sha256 == digest && stored.finishedAt == 3_000)
    let parts = try await journal.parts(of: "small1")
    #expect(parts.map(\.sha256) == [digest])
    #expect(parts.map(\.acknowledgedBytes) == [40_000])
    #expect(parts.map(\.committed) == [true])
  }

  /// Completions recorded at the same time share transactions; each is recorded as alone.
  @Test func recordsManyObjectsStoredAtOnce() async throws {
    let journal = try Journal(database: DatabaseQueue())
    let ids = (0..<100).map { "small\($0)" }
    try await journal.insert(ids.map { id in
      var small = upload(id)
      (small.identity.size, small.sha256) = (40_000, nil)
      return (small, [JournalPart(number: 1, size: 40_000, sha256: nil)])
    })
    try await withThrowingTaskGroup(of: Void.self) { group in
      for (index, id) in ids.enumerated() {
        group.addTask {
          try await journal.stored(id, sessionID: "s\(index)", sha256: ContentHash.of(Array(id.utf8)), at: Int64(index))
        }
      }
      try await group.waitForAll()
    }
    for (index, id) in ids.enumerated() {
      let stored = try #require(try await journal.upload(id))
      #expect(stored.state == .completed && stored.sessionID == "s\(index)" && stored.finishedAt == Int64(index))
      #expect(try await journal.parts(of: id).map(\.sha256) == [ContentHash.of(Array(id.utf8))])
    }
  }

  /// An update that fails in a shared transaction fails alone: the others are still recorded.
  @Test func anUpdateThatFailsFailsAlone() async throws {
    let database = try DatabaseQueue()
    let journal = try Journal(database: database)
    let ids = (0..<20).map { "small\($0)" }
    try await journal.insert(ids.map { id in
      var small = upload(id)
      (small.identity.size, small.sha256) = (40_000, nil)
      return (small, [JournalPart(number: 1, size: 40_000, sha256: nil)])
    })
    // The writer is held while the updates arrive, so that they gather in one transaction.
    let hold = Hold()
    let holder = Task { try await database.write { _ in
      hold.state.withLock { $0.held = true }
      while hold.state.withLock({ !$0.released }) { usleep(500) }
    } }
    while hold.state.withLock({ !$0.held }) { try await Task.sleep(for: .milliseconds(1)) }
    // The first update to arrive is written alone, once the writer is free; those after it
    // wait, and go together in the next transaction: the refused one among the stored ones.
    let first = Task { try await journal.stored(ids[0], sessionID: "s-" + ids[0], sha256: .empty, at: 1) }
    try await Task.sleep(for: .milliseconds(50))
    let refused = Task {
      // A part of an upload the journal does not have breaks its foreign key.
      try await journal.record("nobody", part: JournalPart(number: 1, size: 1, sha256: nil))
    }
    let stored = Task {
      try await withThrowingTaskGroup(of: Void.self) { group in
        for id in ids.dropFirst() {
          group.addTask { try await journal.stored(id, sessionID: "s-" + id, sha256: .empty, at: 1) }
        }
        try await group.waitForAll()
      }
    }
    try await Task.sleep(for: .milliseconds(50))
    hold.state.withLock { $0.released = true }
    try await holder.value
    try await first.value
    await #expect(throws: (any Error).self) { try await refused.value }
    try await stored.value
    for id in ids { #expect(try await journal.upload(id)?.state == .completed) }
  }

  @Test func readsEveryUploadsPartsInOneGo() async throws {
    let journal = try Journal(database: DatabaseQueue())
    try await journal.insert(
      upload("first"), parts: [JournalPart(number: 2, size: 4 << 20, sha256: .empty), JournalPart(number: 1, size: 8 << 20, sha256: .empty)])
    try await journal.insert(upload("second"), parts: [JournalPart(number: 1, size: 12 << 20, sha256: .empty)])
    try await journal.insert(upload("empty"), parts: [])
    try await journal.acknowledged("second", part: 1, bytes: 3 << 20, committed: false)
    let all = try await journal.partsByUpload()
    #expect(Set(all.keys) == ["first", "second"])
    #expect(all["first"] == (try await journal.parts(of: "first")))
    #expect(all["first"]?.map(\.number) == [1, 2])
    #expect(all["second"]?.first?.acknowledgedBytes == 3 << 20)
  }

  @Test func recordsABatchWholeOrNotAtAll() async throws {
    let journal = try Journal(database: DatabaseQueue())
    let part = JournalPart(number: 1, size: 12 << 20, sha256: .empty)
    try await journal.insert([(upload("one"), [part]), (upload("two"), [part])])
    #expect(Set(try await journal.uploads().map(\.id)) == ["one", "two"])
    #expect(try await journal.parts(of: "two") == [part])

    // The second "three" breaks the batch: the first is not recorded either.
    await #expect(throws: (any Error).self) {
      try await journal.insert([(upload("three"), [part]), (upload("three"), [part])])
    }
    #expect(try await journal.upload("three") == nil)
    #expect(try await journal.partsByUpload()["three"] == nil)
  }

  @Test func listsNewestFirst() async throws {
    let journal = try Journal(database: DatabaseQueue())
    var older = upload("older")
    older.createdAt = 1
    try await journal.insert(older, parts: [])
    try await journal.insert(upload("newer"), parts: [])
    #expect(try await journal.uploads().map(\.id) == ["newer", "older"])
  }

  @Test func fileIdentitySaysWhatChanged() {
    let before = FileIdentity(size: 10, modificationTimeNanoseconds: 5, inode: 1)
    #expect(before.changes(to: before) == nil)
    #expect(before.changes(to: FileIdentity(size: 11, modificationTimeNanoseconds: 5, inode: 1)) == "its size changed from 10 to 11 bytes")
    #expect(before.changes(to: FileIdentity(size: 10, modificationTimeNanoseconds: 6, inode: 2))?.contains("replaced") == true)
  }
}
