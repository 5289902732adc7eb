import AsyncHTTPClient
import Foundation
import NIOCore
import GRPCCore
import S3
import TestSupport
import Testing
import UploadCore
import UploadServer

/// The original contract end to end into a real S3 server (SeaweedFS).
@Suite(.enabled(if: TestS3.enabled)) struct S3StoreServerTests {
  @Test func streamBecomesAMultipartObject() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("server", httpClient: http)
      var configuration = testConfiguration(dataDirectory: data.path)
      configuration.s3 = s3.configuration
      let bytes = randomBytes((11 << 20) + 1)
      let response = try await withServer(configuration) { client, _ in
        try await client.upload(bytes, as: "videos/big.bin")
      }
      #expect(response.success)
      #expect(try await s3.digest(ofObject: "videos/big.bin") == ContentHash.of(bytes))
      #expect(try await s3.listMultipartUploads().isEmpty)
      #expect(data.files(under: "spool").isEmpty)
    }
  }

  /// A small object is one PutObject, with the content type, metadata and bytes the multipart
  /// path gives the same file, and no multipart upload; bytes that do not match their digest are
  /// DATA_LOSS with the stable code, and nothing reaches the bucket.
  @Test func aSmallObjectIsOnePutObjectLikeTheMultipartPath() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("whole", httpClient: http)
      var configuration = testConfiguration(dataDirectory: data.path)
      configuration.s3 = s3.configuration
      let file = TestFile(bytes: randomBytes(40_000, seed: 11), partSize: 5 << 20)
      let metadata = ["camera": "north-7", "take": "3"]
      try await withSessionsServer(configuration) { client, _ in
        let whole = try await client.uploadObject(.with {
          $0.session = .with {
            $0.key = "whole.jpg"
            $0.size = UInt64(file.bytes.count)
            $0.contentType = "image/jpeg"
            $0.metadata = metadata
          }
          $0.data = Data(file.bytes)
          $0.sha256 = Data(ContentHash.of(file.bytes).bytes)
        }).session
        #expect(whole.state == .completed)
        #expect(try await client.get(whole.id).parts.map(\.state) == [.committed])
        #expect(try await s3.listMultipartUploads().isEmpty)

        let session = try await client.create(file, key: "parts.jpg", contentType: "image/jpeg", metadata: metadata)
        try await client.stream(file, session: session.id, chunks: SessionsClient.allChunks(of: file))
        _ = try await client.complete(file, session: session.id)

        let put = try await s3.headObject(key: "whole.jpg")
        let assembled = try await s3.headObject(key: "parts.jpg")
        #expect(put.contentType == "image/jpeg")
        #expect(put.contentType == assembled.contentType)
        #expect(put.metadata == metadata)
        #expect(put.metadata == assembled.metadata)
        #expect(put.size == assembled.size)
        #expect(try await s3.digest(ofObject: "whole.jpg") == ContentHash.of(file.bytes))

        let refused = await #expect(throws: RPCError.self) {
          try await client.uploadObject(.with {
            $0.session = .with {
              $0.key = "corrupt.jpg"
              $0.size = UInt64(file.bytes.count)
            }
            $0.data = Data(file.bytes)
            $0.sha256 = Data(ContentHash.of(Array(file.bytes.reversed())).bytes)
          })
        }
        #expect(refused?.code == .dataLoss)
        #expect(refused?.metadata[stringValues: "uploader-error-code"].map { $0 } == ["DIGEST_MISMATCH"])
      }
      await #expect(throws: (any Error).self) { try await s3.headObject(key: "corrupt.jpg") }
    }
  }

  @Test func aSecondUploadOfAPartNumberDoesNotChangeWhatIsCompleted() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("reconcile", httpClient: http)
      var configuration = testConfiguration(dataDirectory: data.path)
      configuration.s3 = s3.configuration
      let file = TestFile(bytes: randomBytes((5 << 20) + (1 << 20)), partSize: 5 << 20)
      try await withSessionsServer(configuration) { client, server in
        let session = try await client.create(file, key: "reconciled")
        let log = StreamLog()
        try await client.stream(
          file, session: session.id,
          chunks: SessionsClient.chunks(of: file, part: 1) + SessionsClient.chunks(of: file, part: 2), log: log)
        #expect(log.committedParts == [1, 2])
        // Someone else (a zombie with other bytes, a bug) uploads part 2 again. SeaweedFS keeps
        // both and completes with the ETag it is given; S3 would list only the newer one, and
        // CompleteSession would have the part sent again (ListedPartVerdictTests).
        let record = try await server.sessions.session(SessionID(validating: session.id), owner: .anonymous)
        let other = randomBytes(512 << 10)
        _ = try await s3.uploadPart(
          key: "reconciled", uploadID: try #require(record.storageUploadID), partNumber: 2,
          body: .bytes(ByteBuffer(bytes: other)), sha256: ContentHash.of(other))
        #expect(try await client.complete(file, session: session.id).state == .completed)
      }
      #expect(try await s3.digest(ofObject: "reconciled") == ContentHash.of(file.bytes))
    }
  }

  /// S3 checks each part against its declared SHA-256, so by default the server does not hash a
  /// part whose digest comes with its first byte: a changed byte is caught by S3 (BadDigest),
  /// and the part is reset and received again. With `verifiesOnReceipt` the server catches it
  /// itself, before S3 sees the part.
  @Test(arguments: [false, true]) func aChangedByteIsCaughtAndThePartReceivedAgain(verifiesOnReceipt: Bool)
    async throws
  {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("flipped", httpClient: http)
      var configuration = testConfiguration(dataDirectory: data.path)
      configuration.s3 = s3.configuration
      configuration.sessions.verifiesOnReceipt = verifiesOnReceipt
      let file = TestFile(bytes: randomBytes((5 << 20) + 10), partSize: 5 << 20)
      try await withSessionsServer(configuration) { client, _ in
        let session = try await client.create(file, key: "flipped")
        var corrupted = SessionsClient.chunks(of: file, part: 1)
        corrupted[3].corrupt = true
        await #expect {
          try await client.stream(file, session: session.id, chunks: corrupted)
        } throws: { error in
          guard let error = error as? RPCError, error.code == .dataLoss else { return false }
          let caughtBy = verifiesOnReceipt ? "the bytes received hash to" : "BadDigest"
          return error.message.contains(caughtBy) && error.message.contains("the part was reset")
        }
        let reset = try await client.get(session.id).parts[0]
        #expect(reset.receivedBytes == 0)

        try await client.stream(
          file, session: session.id,
          chunks: SessionsClient.chunks(of: file, part: 1) + SessionsClient.chunks(of: file, part: 2))
        #expect(try await client.complete(file, session: session.id).state == .completed)
      }
      #expect(try await s3.digest(ofObject: "flipped") == ContentHash.of(file.bytes))
      #expect(try await s3.listMultipartUploads().isEmpty)
    }
  }

  @Test func clientThatGivesUpLeavesNoMultipartUpload() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("giveup", httpClient: http)
      var configuration = testConfiguration(dataDirectory: data.path)
      configuration.s3 = s3.configuration
      try await withServer(configuration) { client, _ in
        await #expect(throws: (any Error).self) {
          _ = try await client.upload(randomBytes(20 << 20), as: "partial", giveUpAfter: 16 << 20) {
            // Something to clean up first: the multipart upload exists before the client gives up.
            try #require(
              try await eventually(seconds: 30) { try await !s3.listMultipartUploads().isEmpty },
              "the server never created the multipart upload")
          }
        }
        let clean = try await eventually(seconds: 30) { try await s3.listMultipartUploads().isEmpty }
        #expect(clean)
      }
      await #expect(throws: S3Error.self) { _ = try await s3.headObject(key: "partial") }
    }
  }

  @Test func unreachableS3IsReportedAtStart() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    var configuration = testConfiguration(dataDirectory: data.path)
    var s3 = try TestS3.configuration(bucket: "any")
    s3.endpoint = URL(string: "http://127.0.0.1:1")!
    s3.retryPolicy = .none
    configuration.s3 = s3
    await #expect {
      _ = try await UploaderServer(configuration: configuration, logger: quietLogger)
    } throws: { error in
      guard let error = error as? UploadError else { return false }
      return error.code == .storageUnavailable && error.message.contains("cannot be reached")
    }
  }

  @Test func missingBucketAndBadCredentialsAreReportedAtStart() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    var configuration = testConfiguration(dataDirectory: data.path)
    configuration.s3 = try TestS3.configuration(bucket: TestS3.uniqueBucketName("absent"))
    await #expect {
      _ = try await UploaderServer(configuration: configuration, logger: quietLogger)
    } throws: { error in
      (error as? UploadError)?.code == .storageRejected
        && (error as? UploadError)?.message.contains("does not exist") == true
    }

    try await withHTTPClient { http in
      let bucket = try await TestS3.makeBucket("creds", httpClient: http).configuration.bucket
      configuration.s3 = try TestS3.configuration(bucket: bucket, secretKey: "wrong")
      await #expect {
        _ = try await UploaderServer(configuration: configuration, logger: quietLogger)
      } throws: { error in
        (error as? UploadError)?.code == .storageRejected
          && (error as? UploadError)?.message.contains("credentials were refused") == true
      }
    }
  }
}
