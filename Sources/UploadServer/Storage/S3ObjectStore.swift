import Crypto
import Foundation
import S3
import NIOCore
import UploadCore

/// Objects in an S3 bucket, written as multipart uploads whose parts carry
/// `x-amz-checksum-sha256`, so S3 itself rejects a part whose bytes changed on the way.
///
/// Layout: the object key is the S3 key, unchanged. Multipart uploads in progress are visible
/// with ListMultipartUploads until they are completed or aborted.
public struct S3ObjectStore: ObjectStore, GrowingPartUploads {
  /// The client for the bucket.
  public let client: S3Client

  /// Creates a store over `client`'s bucket.
  public init(client: S3Client) {
    self.client = client
  }

  public var name: String { "s3://\(client.configuration.bucket)" }

  public func checkAvailability() async throws(UploadError) {
    do {
      try await client.headBucket()
    } catch let error as S3Error {
      let reason: String =
        switch error.code {
        case .noSuchBucket, .init(rawValue: "NotFound"): "the bucket does not exist"
        case _ where error.isAccessProblem: "the credentials were refused (\(error.code))"
        case .connectionFailed: "the endpoint cannot be reached (\(error.message))"
        default: "\(error)"
        }
      throw UploadError(
        error.isRetryable ? .storageUnavailable : .storageRejected,
        "S3 bucket \"\(client.configuration.bucket)\" at \(endpointDescription) is not usable: \(reason)")
    } catch {
      throw UploadError(.internal, "checking S3: \(error)")
    }
  }

  public func createUpload(key: ObjectKey, attributes: ObjectAttributes) async throws(UploadError) -> String {
    do {
      return try await client.createMultipartUpload(
        key: key.rawValue, contentType: attributes.contentType, metadata: attributes.storedMetadata)
    } catch {
      throw .fromS3(error, key: key)
    }
  }

  public func uploadPart(key: ObjectKey, uploadID: String, part: SpooledPart)
    async throws(UploadError) -> String
  {
    do {
      return try await client.uploadPart(
        key: key.rawValue, uploadID: uploadID, partNumber: part.number,
        body: .file(path: part.path, offset: 0, length: part.size), sha256: part.sha256)
    } catch {
      throw .fromS3(error, key: key)
    }
  }

  /// This store: a part's body is read from its spool file as the file grows.
  public var growingParts: (any GrowingPartUploads)? { self }

  /// True: every part carries `x-amz-checksum-sha256`, and S3 answers BadDigest to bytes that
  /// do not match it.
  public var verifiesDigests: Bool { true }

  /// One try: a retry would send the part again from its first byte, and the spool can commit
  /// it instead.
  public func uploadPart(key: ObjectKey, uploadID: String, part: SpooledPart, growing: GrowingFile)
    async throws(UploadError) -> String
  {
    do {
      return try await client.uploadPart(
        key: key.rawValue, uploadID: uploadID, partNumber: part.number,
        body: .growingFile(path: part.path, length: part.size, available: growing.waitUntil), sha256: part.sha256,
        retries: false)
    } catch {
      throw .fromS3(error, key: key)
    }
  }

  /// The attributes were given at `createUpload`.
  public func completeUpload(key: ObjectKey, uploadID: String, parts: [CommittedPart], attributes: ObjectAttributes)
    async throws(UploadError) -> StoredObject
  {
    do {
      let etag = try await client.completeMultipartUpload(
        key: key.rawValue, uploadID: uploadID,
        parts: parts.map { S3Part(number: $0.number, etag: $0.etag, checksumSHA256: $0.sha256.base64) })
      return StoredObject(key: key, location: location(key), etag: etag)
    } catch {
      throw .fromS3(error, key: key)
    }
  }

  public func abortUpload(key: ObjectKey, uploadID: String) async throws(UploadError) {
    do {
      try await client.abortMultipartUpload(key: key.rawValue, uploadID: uploadID)
    } catch let error as S3Error where error.code == .noSuchUpload {
      // Already gone: what an abort wants.
      return
    } catch {
      throw .fromS3(error, key: key)
    }
  }

  public func listParts(key: ObjectKey, uploadID: String) async throws(UploadError) -> [Int: [ListedPart]] {
    do {
      let parts = try await client.listParts(key: key.rawValue, uploadID: uploadID)
      return Dictionary(grouping: parts, by: \.number).mapValues { entries in
        entries.map { part in
          let sha256 = part.checksumSHA256.flatMap { Data(base64Encoded: $0) }.flatMap { ContentHash(bytes: Array($0)) }
          return ListedPart(etag: part.etag, size: part.size, sha256: sha256)
        }
      }
    } catch let error as S3Error where error.code == .noSuchUpload {
      throw UploadError(.sessionClosed, "the multipart upload of \"\(key)\" no longer exists in the bucket")
    } catch {
      throw .fromS3(error, key: key)
    }
  }

  public func putObject(key: ObjectKey, part: SpooledPart, attributes: ObjectAttributes) async throws(UploadError)
    -> StoredObject
  {
    do {
      let etag = try await client.putObject(
        key: key.rawValue, body: .file(path: part.path, offset: 0, length: part.size),
        sha256: part.sha256, contentType: attributes.contentType, metadata: attributes.storedMetadata)
      return StoredObject(key: key, location: location(key), etag: etag)
    } catch {
      throw .fromS3(error, key: key)
    }
  }

  public func putObject(key: ObjectKey, bytes: ByteBuffer, sha256: ContentHash, attributes: ObjectAttributes)
    async throws(UploadError) -> StoredObject
  {
    do {
      let etag = try await client.putObject(
        key: key.rawValue, body: .bytes(bytes), sha256: sha256, contentType: attributes.contentType,
        metadata: attributes.storedMetadata)
      return StoredObject(key: key, location: location(key), etag: etag)
    } catch {
      throw .fromS3(error, key: key)
    }
  }

  public func digest(ofObject key: ObjectKey) async throws(UploadError) -> ObjectDigest {
    var hasher = SHA256()
    var size: Int64 = 0
    do {
      try await client.getObject(key: key.rawValue) { chunk in
        chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        size += Int64(chunk.readableBytes)
      }
    } catch let error as S3Error where error.code == .noSuchKey || error.httpStatus == 404 {
      throw UploadError(.objectMissing, "\"\(key)\" is not in the bucket any more")
    } catch {
      throw .fromS3(error, key: key)
    }
    return ObjectDigest(sha256: ContentHash(hasher.finalize()), size: size)
  }

  /// A copy of the object onto itself (S3 keeps an object's metadata fixed otherwise).
  public func replaceAttributes(key: ObjectKey, size: Int64, attributes: ObjectAttributes) async throws(UploadError)
    -> String?
  {
    do {
      return try await client.replaceMetadata(
        key: key.rawValue, size: size, contentType: attributes.contentType, metadata: attributes.storedMetadata)
    } catch {
      throw .fromS3(error, key: key)
    }
  }

  private func location(_ key: ObjectKey) -> String { "s3://\(client.configuration.bucket)/\(key)" }

  private var endpointDescription: String {
    client.configuration.endpoint?.absoluteString ?? "AWS (\(client.configuration.region))"
  }
}
