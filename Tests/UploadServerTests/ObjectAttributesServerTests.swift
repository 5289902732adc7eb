import AsyncHTTPClient
import Foundation
import GRPCCore
import NIOFileSystem
import S3
import TestSupport
import Testing
import UploadCore
import UploadProtocol
@testable import UploadServer

/// Content type and metadata reach the object, and the whole-file SHA-256 is stamped on it only
/// once the server has read the object back and found it: in SeaweedFS and in the local store.
@Suite struct ObjectAttributesServerTests {
  static let metadata = ["camera": "north-7", "take": "3"]

  @Test(.enabled(if: TestS3.enabled)) func s3ObjectCarriesContentTypeMetadataAndVerifiedDigest() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("attributes", httpClient: http)
      var configuration = testConfiguration(dataDirectory: data.path)
      configuration.s3 = s3.configuration
      let file = TestFile(bytes: randomBytes((5 << 20) + 1000), partSize: 5 << 20)
      try await withSessionsServer(configuration) { client, _ in
        let session = try await client.create(file, key: "clip.mp4", contentType: "video/mp4", metadata: Self.metadata)
        try await client.stream(file, session: session.id, chunks: SessionsClient.allChunks(of: file))
        let unverified = try await client.complete(file, session: session.id)
        #expect(unverified.verifiedSha256.isEmpty)
        let before = try await s3.headObject(key: "clip.mp4")
        #expect(before.contentType == "video/mp4")
        #expect(before.metadata == Self.metadata, "no sha256 before the object is read back")

        let verified = try await client.verifySession(.with { $0.sessionID = session.id })
        #expect(verified.verifiedSha256 == Data(ContentHash.of(file.bytes).bytes))
        let after = try await s3.headObject(key: "clip.mp4")
        #expect(after.contentType == "video/mp4")
        #expect(after.metadata == Self.metadata.merging(["sha256": ContentHash.of(file.bytes).hex]) { $1 })
        #expect(verified.etag == after.etag, "the session records the ETag of the stamped copy")
      }
      #expect(try await s3.digest(ofObject: "clip.mp4") == ContentHash.of(file.bytes))
    }
  }

  /// A client whose whole-file digest is not its bytes' gets DATA_LOSS, now and on every later
  /// CompleteSession, and the object never claims the digest.
  @Test(.enabled(if: TestS3.enabled)) func aLyingWholeFileDigestIsCaughtAndNeverStamped() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("lying", httpClient: http)
      var configuration = testConfiguration(dataDirectory: data.path)
      configuration.s3 = s3.configuration
      let file = TestFile(bytes: randomBytes((5 << 20) + 7), partSize: 5 << 20)
      let lie = ContentHash.of(Array("not the file".utf8))
      try await withSessionsServer(configuration) { client, _ in
        let session = try await client.create(file, key: "lie.bin")
        try await client.stream(file, session: session.id, chunks: SessionsClient.allChunks(of: file))
        for _ in 1...2 {
          await #expect {
            _ = try await client.complete(file, session: session.id, sha256: lie, verify: true)
          } throws: { error in
            guard let error = error as? RPCError, error.code == .dataLoss else { return false }
            return error.message.contains(ContentHash.of(file.bytes).hex) && error.message.contains(lie.hex)
          }
        }
        let recorded = try await client.get(session.id)
        #expect(recorded.state == .completed)
        #expect(recorded.sha256 == Data(lie.bytes))
        #expect(recorded.verifiedSha256 == Data(ContentHash.of(file.bytes).bytes))
      }
      #expect(try await s3.headObject(key: "lie.bin").metadata["sha256"] == nil)
    }
  }

  /// The local store keeps the attributes as extended attributes of the object's file;
  /// `verifiesCompletedObjects` verifies without the client asking.
  @Test func localObjectCarriesAttributesAsExtendedAttributes() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    var configuration = testConfiguration(dataDirectory: data.path)
    configuration.sessions.verifiesCompletedObjects = true
    let file = TestFile(bytes: randomBytes((5 << 20) + 3), partSize: 5 << 20)
    try await withSessionsServer(configuration) { client, _ in
      let session = try await client.create(file, key: "docs/report.pdf", contentType: "application/pdf", metadata: Self.metadata)
      try await client.stream(file, session: session.id, chunks: SessionsClient.allChunks(of: file))
      let completed = try await client.complete(file, session: session.id)
      #expect(completed.verifiedSha256 == Data(ContentHash.of(file.bytes).bytes))
    }
    let stored = try await ExtendedAttributes.read(FilePath(data.path + "/store/objects/docs/report.pdf"))
    #expect(stored == ObjectAttributes(contentType: "application/pdf", metadata: Self.metadata, sha256: ContentHash.of(file.bytes)))
  }

  @Test func metadataThatCouldInjectAHeaderIsRefusedAtCreation() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withSessionsServer(testConfiguration(dataDirectory: data.path)) { client, _ in
      let file = TestFile(bytes: randomBytes(10), partSize: 5 << 20)
      await #expect {
        _ = try await client.create(file, key: "x", metadata: ["note": "a\r\nx-amz-acl: public-read"])
      } throws: { error in
        guard let error = error as? RPCError, error.code == .invalidArgument else { return false }
        return error.message.contains("invalid value of metadata \"note\"")
      }
      let sessions = try await client.listSessions(.with { _ in }).sessions
      #expect(sessions.isEmpty, "nothing was created")
    }
  }
}
