import NIOCore
import UploadCore

extension S3Client {
  /// The largest object CopyObject copies in one request; larger ones are copied in parts.
  public static let maximumSingleCopy: Int64 = 5 << 30
  /// The range each UploadPartCopy copies when an object is copied in parts.
  public static let partCopyLength: Int64 = 1 << 30

  /// Replaces an object's content type and metadata, keeping its bytes: a copy of the object
  /// onto itself (CopyObject up to 5 GiB, a multipart copy above). S3 is asked to compute the
  /// new object's SHA-256 checksum as it copies.
  ///
  /// - Parameters:
  ///   - size: the object's size (it chooses between the two ways).
  ///   - singleCopyLimit, copyPartLength: S3's limits; tests make them small.
  /// - Returns: the object's new ETag.
  public func replaceMetadata(
    key: String, size: Int64, contentType: String?, metadata: [String: String],
    singleCopyLimit: Int64 = maximumSingleCopy, copyPartLength: Int64 = partCopyLength
  ) async throws -> String {
    let source = "/\(configuration.bucket)/\(URIEncoding.encodePath(key))"
    guard size > singleCopyLimit else {
      let headers =
        [("x-amz-copy-source", source), ("x-amz-metadata-directive", "REPLACE"), ("x-amz-checksum-algorithm", "SHA256")]
        + Self.objectHeaders(contentType, metadata)
      let response = try await transport.send(S3Request(operation: "CopyObject", method: .PUT, key: key, headers: headers))
      return try copiedETag(response, "CopyObject")
    }
    let uploadID = try await createMultipartUpload(key: key, contentType: contentType, metadata: metadata)
    do {
      var parts: [S3Part] = []
      var start: Int64 = 0
      while start < size {
        let end = min(start + copyPartLength, size) - 1
        let response = try await transport.send(
          S3Request(
            operation: "UploadPartCopy", method: .PUT, key: key,
            query: [("partNumber", String(parts.count + 1)), ("uploadId", uploadID)],
            headers: [("x-amz-copy-source", source), ("x-amz-copy-source-range", "bytes=\(start)-\(end)")]))
        let document = try Self.document(response, "UploadPartCopy")
        parts.append(
          S3Part(
            number: parts.count + 1, etag: try copiedETag(response, "UploadPartCopy"),
            checksumSHA256: document.text("ChecksumSHA256")))
        start = end + 1
      }
      return try await completeMultipartUpload(key: key, uploadID: uploadID, parts: parts)
    } catch {
      try? await abortMultipartUpload(key: key, uploadID: uploadID)
      throw error
    }
  }

  /// The ETag of a copy result, which S3 may answer with 200 and an error document.
  private func copiedETag(_ response: S3Response, _ operation: String) throws -> String {
    let document = try Self.document(response, operation)
    if document.name == "Error" {
      throw S3Error.decode(operation: operation, status: 200, headers: response.headers, body: response.body)
    }
    guard let etag = document.text("ETag") else { throw malformed(operation, "no ETag in the response") }
    // Quoted, as in every ETag header (SeaweedFS leaves the quotes out of this document).
    return etag.hasPrefix("\"") ? etag : "\"\(etag)\""
  }
}
