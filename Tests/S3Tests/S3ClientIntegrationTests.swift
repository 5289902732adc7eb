import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import TestSupport
import Testing
import UploadCore

@testable import S3

/// The S3 client against a real S3 server (SeaweedFS).
@Suite(.enabled(if: TestS3.enabled)) struct S3ClientIntegrationTests {
  @Test func multipartRoundTripWithPaginatedListParts() async throws {
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("roundtrip", httpClient: http)
      let first = randomBytes(5 << 20, seed: 1)
      let second = randomBytes(1000, seed: 2)
      let uploadID = try await s3.createMultipartUpload(key: "dir/object.bin")
      var parts: [S3Part] = []
      for (number, bytes) in [(1, first), (2, second)] {
        let digest = ContentHash.of(bytes)
        let etag = try await s3.uploadPart(
          key: "dir/object.bin", uploadID: uploadID, partNumber: number,
          body: .bytes(ByteBuffer(bytes: bytes)), sha256: digest)
        parts.append(S3Part(number: number, etag: etag, checksumSHA256: digest.base64))
      }

      let listed = try await s3.listParts(key: "dir/object.bin", uploadID: uploadID, pageSize: 1)
      #expect(listed.map(\.number) == [1, 2])
      #expect(listed.map(\.etag) == parts.map(\.etag))
      #expect(listed.map(\.size) == [Int64(first.count), Int64(second.count)])

      _ = try await s3.completeMultipartUpload(key: "dir/object.bin", uploadID: uploadID, parts: parts)
      #expect(try await s3.headObject(key: "dir/object.bin").size == Int64(first.count + second.count))
      #expect(try await s3.digest(ofObject: "dir/object.bin") == ContentHash.of(first + second))
      #expect(try await s3.listMultipartUploads().isEmpty)
    }
  }

  /// Metadata changes only by a copy of the object onto itself: CopyObject, or above S3's 5 GiB
  /// a multipart copy (limits made small here), which must keep every byte.
  @Test(arguments: [false, true]) func metadataIsReplacedKeepingTheBytes(inParts: Bool) async throws {
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("copy", httpClient: http)
      let bytes = randomBytes((12 << 20) + 17, seed: 9)
      _ = try await s3.putObject(
        key: "c/o.bin", body: .bytes(ByteBuffer(bytes: bytes)), sha256: ContentHash.of(bytes), contentType: "a/b",
        metadata: ["old": "1"])
      let etag = try await s3.replaceMetadata(
        key: "c/o.bin", size: Int64(bytes.count), contentType: "video/mp4", metadata: ["sha256": "x", "take": "3"],
        singleCopyLimit: inParts ? 5 << 20 : S3Client.maximumSingleCopy, copyPartLength: 5 << 20)
      let head = try await s3.headObject(key: "c/o.bin")
      #expect(head.metadata == ["sha256": "x", "take": "3"])
      #expect(head.contentType == "video/mp4")
      #expect(head.etag == etag)
      #expect(head.etag?.hasSuffix("-3\"") == inParts, "three copied parts: \(head.etag ?? "none")")
      #expect(try await s3.digest(ofObject: "c/o.bin") == ContentHash.of(bytes))
      #expect(try await s3.listMultipartUploads().isEmpty)
    }
  }

  @Test func uploadPartFromAFileRange() async throws {
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("filebody", httpClient: http)
      let bytes = randomBytes(3 << 20, seed: 3)
      let path = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      defer { try? FileManager.default.removeItem(atPath: path) }

      let slice = Array(bytes[1000..<(1000 + (2 << 20))])
      _ = try await s3.putObject(
        key: "slice", body: .file(path: path, offset: 1000, length: Int64(slice.count)),
        sha256: ContentHash.of(slice))
      #expect(try await s3.digest(ofObject: "slice") == ContentHash.of(slice))
    }
  }

  @Test func wrongChecksumIsRejectedWithBadDigest() async throws {
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("baddigest", httpClient: http)
      let uploadID = try await s3.createMultipartUpload(key: "k")
      let bytes = randomBytes(1 << 20)
      var corrupted = bytes
      corrupted[17] ^= 0xff
      await #expect {
        _ = try await s3.uploadPart(
          key: "k", uploadID: uploadID, partNumber: 1, body: .bytes(ByteBuffer(bytes: corrupted)),
          sha256: ContentHash.of(bytes))
      } throws: { ($0 as? S3Error)?.code == .badDigest }
      try await s3.abortMultipartUpload(key: "k", uploadID: uploadID)
    }
  }

  @Test func abortedUploadsLeaveTheListing() async throws {
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("abort", httpClient: http)
      let keep = try await s3.createMultipartUpload(key: "a/keep")
      let drop = try await s3.createMultipartUpload(key: "b/drop")
      let third = try await s3.createMultipartUpload(key: "c/third")

      let before = try await s3.listMultipartUploads(pageSize: 1)
      #expect(Set(before.map(\.uploadID)) == [keep, drop, third])

      try await s3.abortMultipartUpload(key: "b/drop", uploadID: drop)
      let after = try await s3.listMultipartUploads(pageSize: 1)
      #expect(Set(after.map(\.uploadID)) == [keep, third])
      #expect(try await s3.listMultipartUploads(prefix: "a/").map(\.key) == ["a/keep"])

      // Aborting twice is not an error.
      try await s3.abortMultipartUpload(key: "b/drop", uploadID: drop)
    }
  }

  @Test func emptyObjectsRoundTrip() async throws {
    try await withHTTPClient { http in
      let s3 = try await TestS3.makeBucket("empty", httpClient: http)
      _ = try await s3.putObject(key: "empty", body: .empty, sha256: .empty)
      #expect(try await s3.headObject(key: "empty").size == 0)
      #expect(try await s3.digest(ofObject: "empty") == .empty)
    }
  }

  @Test func wrongSecretKeyIsAClearAccessError() async throws {
    try await withHTTPClient { http in
      let good = try await TestS3.makeBucket("secret", httpClient: http)
      let bad = S3Client(
        configuration: try TestS3.configuration(bucket: good.configuration.bucket, secretKey: "wrong"),
        httpClient: http)
      await #expect {
        try await bad.headBucket()
      } throws: { error in
        guard let error = error as? S3Error else { return false }
        return error.isAccessProblem && !error.isRetryable
      }
      await #expect {
        _ = try await bad.createMultipartUpload(key: "k")
      } throws: { error in
        guard let error = error as? S3Error else { return false }
        return error.code == .signatureDoesNotMatch && error.httpStatus == 403
      }
    }
  }

  @Test func missingBucketIsNotFound() async throws {
    try await withHTTPClient { http in
      let s3 = S3Client(
        configuration: try TestS3.configuration(bucket: TestS3.uniqueBucketName("missing")), httpClient: http)
      await #expect {
        try await s3.headBucket()
      } throws: { error in
        guard let error = error as? S3Error else { return false }
        return error.httpStatus == 404 && !error.isRetryable
      }
    }
  }

  @Test func unreachableEndpointIsRetriedThenReported() async throws {
    try await withHTTPClient { http in
      var configuration = try TestS3.configuration(bucket: "any")
      configuration.endpoint = URL(string: "http://127.0.0.1:1")!
      configuration.retryPolicy = RetryPolicy(
        maximumAttempts: 3, baseDelay: .seconds(1), maximumDelay: .seconds(2))
      let waits = Mutex<[Duration]>([])
      let s3 = S3Client(
        configuration: configuration, httpClient: http, unitRandom: { 1 },
        sleep: { delay in waits.withLock { $0.append(delay) } })
      await #expect {
        try await s3.headBucket()
      } throws: { ($0 as? S3Error)?.code == .connectionFailed }
      #expect(waits.withLock { $0 } == [.seconds(1), .seconds(2)])
    }
  }
}
