import Foundation
import GRDB
import Migrations
import NIOFileSystem
import TestSupport
import Testing
import UploadCore
import UploadProtocol
@testable import UploadServer

/// Which door a session came in by is a column, never the user's metadata: a resumable session
/// may carry any metadata and survive a restart, and no object carries a pair its user did not
/// give.
@Suite struct SessionOriginTests {
  static let oldMarker = ["uploader-origin": "uploader.FileUploader/Upload"]

  @Test func aResumableSessionWithTheOldMarkerSurvivesARestartAndItsObjectCarriesOnlyItsMetadata() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let configuration = testConfiguration(dataDirectory: data.path)
    let file = TestFile(bytes: randomBytes((5 << 20) + 10), partSize: 5 << 20)
    let id = try await withSessionsServer(configuration) { client, _ in
      let session = try await client.create(file, key: "kept.bin", metadata: Self.oldMarker)
      try await client.stream(file, session: session.id, chunks: SessionsClient.chunks(of: file, part: 1))
      return session.id
    }
    try await withSessionsServer(configuration) { client, _ in
      #expect(try await client.get(id).state == .open, "recovery took it for a cut stream of the original contract")
      try await client.stream(file, session: id, chunks: SessionsClient.chunks(of: file, part: 2))
      #expect(try await client.complete(file, session: id).state == .completed)
    }
    let stored = try await ExtendedAttributes.read(FilePath(data.path + "/store/objects/kept.bin"))
    #expect(stored.metadata == Self.oldMarker)
  }

  @Test func anObjectOfTheOriginalContractCarriesNoMetadata() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let response = try await withServer(testConfiguration(dataDirectory: data.path)) { client, _ in
      try await client.upload(randomBytes(1000), as: "contract.bin")
    }
    #expect(response.success)
    let stored = try await ExtendedAttributes.read(FilePath(data.path + "/store/objects/contract.bin"))
    #expect(stored.metadata.isEmpty)
  }

  /// A database written before the column: a session marked by the metadata pair alone becomes
  /// one of the original contract, without the pair; any other metadata stays as it was.
  @Test func theMigrationMovesTheOldMarkerIntoTheColumn() async throws {
    let database = try DatabaseQueue()
    try ServerSchema.migrator.migrate(database, upTo: "v6-notification-outbox")
    try await database.write { db in
      for (id, metadata) in [
        ("a", #"{"uploader-origin":"uploader.FileUploader\/Upload"}"#), ("b", #"{"take":"3"}"#),
        ("c", #"{"take":"3","uploader-origin":"uploader.FileUploader\/Upload"}"#),
      ] {
        try db.execute(
          sql: """
            INSERT INTO sessions (id, object_key, size, part_size, part_count, metadata, state, created_at,
              updated_at, expires_at) VALUES (?, 'k', 0, 0, 0, ?, 'open', 0, 0, 0)
            """, arguments: [id, metadata])
      }
    }
    try ServerSchema.migrator.migrate(database)
    let rows = try await database.read { db in
      try Row.fetchAll(db, sql: "SELECT id, origin, metadata FROM sessions ORDER BY id").map {
        [$0["id"] as String, $0["origin"] as String, $0["metadata"] as String]
      }
    }
    #expect(rows == [
      ["a", "original-contract", "{}"], ["b", "resumable", #"{"take":"3"}"#],
      ["c", "resumable", #"{"take":"3","uploader-origin":"uploader.FileUploader\/Upload"}"#],
    ])
  }
}
