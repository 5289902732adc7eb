import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import UploadCore

/// A small S3 client: the multipart-upload calls the server uses, plus what verification and
/// tests need. Every call goes through `S3Transport`: signed with SigV4 and retried on 5xx,
/// SlowDown and connection failures (never on other 4xx), with exponential backoff and full
/// jitter.
///
/// Calls used: HeadBucket, CreateBucket, CreateMultipartUpload, UploadPart,
/// CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads, PutObject,
/// HeadObject, GetObject, CopyObject and UploadPartCopy.
public struct S3Client: Sendable {
  /// The bucket and how to reach it.
  public var configuration: S3Configuration { transport.configuration }
  /// Signs, sends and retries the requests.
  let transport: S3Transport

  /// Creates a client.
  ///
  /// - Parameters:
  ///   - configuration: bucket, endpoint, credentials and retry policy.
  ///   - httpClient: a shared client; its owner shuts it down.
  ///   - now: the signing clock.
  ///   - unitRandom: the jitter source, a value in `0...1`.
  ///   - sleep: waits between retries.
  public init(
    configuration: S3Configuration,
    httpClient: HTTPClient,
    logger: Logger = Logger(label: "uploader.s3"),
    now: @escaping @Sendable () -> Date = { Date() },
    unitRandom: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
    sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
  ) {
    self.transport = S3Transport(
      configuration: configuration, httpClient: httpClient,
      signer: SigV4Signer(credentials: configuration.credentials, region: configuration.region), now: now,
      unitRandom: unitRandom, sleep: sleep, logger: logger)
  }

  /// Checks that the bucket exists and the credentials may use it.
  public func headBucket() async throws {
    _ = try await transport.send(S3Request(operation: "HeadBucket", method: .HEAD, key: nil))
  }

  /// Creates the bucket (tests and first-time setup).
  public func createBucket() async throws {
    _ = try await transport.send(S3Request(operation: "CreateBucket", method: .PUT, key: nil))
  }

  /// Starts a multipart upload whose parts carry SHA-256 checksums.
  ///
  /// - Returns: the upload id.
  public func createMultipartUpload(key: String, contentType: String? = nil, metadata: [String: String] = [:])
    async throws -> String
  {
    let headers = [("x-amz-checksum-algorithm", "SHA256")] + Self.objectHeaders(contentType, metadata)
    let response = try await transport.send(
      S3Request(operation: "CreateMultipartUpload", method: .POST, key: key, query: [("uploads", "")],
        headers: headers))
    guard let uploadID = try Self.document(response, "CreateMultipartUpload").text("UploadId") else {
      throw malformed("CreateMultipartUpload", "no UploadId in the response")
    }
    return uploadID
  }

  /// Uploads one part. S3 verifies the body against `sha256` and rejects a mismatch with BadDigest.
  ///
  /// - Parameter retries: retry per the retry policy; false tries once (the caller has a
  ///   fallback, as a part forwarded while it arrives has its spool file).
  /// - Returns: the part's ETag.
  public func uploadPart(
    key: String, uploadID: String, partNumber: Int, body: S3Body, sha256: ContentHash, retries: Bool = true
  ) async throws -> String {
    let response = try await transport.send(
      S3Request(
        operation: "UploadPart", method: .PUT, key: key,
        query: [("partNumber", String(partNumber)), ("uploadId", uploadID)],
        headers: [("x-amz-checksum-sha256", sha256.base64)], body: body, payloadHash: sha256.hex,
        retries: retries))
    guard let etag = response.headers.first(name: "etag") else {
      throw malformed("UploadPart", "no ETag in the response")
    }
    return etag
  }

  /// Completes a multipart upload from its parts, in part-number order.
  ///
  /// - Returns: the object's ETag.
  public func completeMultipartUpload(key: String, uploadID: String, parts: [S3Part]) async throws
    -> String
  {
    var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    for part in parts.sorted(by: { $0.number < $1.number }) {
      xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(Self.escape(part.etag))</ETag>"
      if let checksum = part.checksumSHA256 { xml += "<ChecksumSHA256>\(checksum)</ChecksumSHA256>" }
      xml += "</Part>"
    }
    xml += "</CompleteMultipartUpload>"
    let body = Array(xml.utf8)
    let response = try await transport.send(
      S3Request(
        operation: "CompleteMultipartUpload", method: .POST, key: key,
        query: [("uploadId", uploadID)], headers: [("content-type", "application/xml")],
        body: .bytes(ByteBuffer(bytes: body)), payloadHash: ContentHash.of(body).hex))
    // S3 may answer 200 and still fail: the error is then in the body.
    let document = try Self.document(response, "CompleteMultipartUpload")
    if document.name == "Error" {
      throw S3Error.decode(
        operation: "CompleteMultipartUpload", status: 200, headers: response.headers, body: response.body)
    }
    guard let etag = document.text("ETag") ?? response.headers.first(name: "etag") else {
      throw malformed("CompleteMultipartUpload", "no ETag in the response")
    }
    return etag
  }

  /// Aborts a multipart upload and frees its parts. An upload that no longer exists is not an error.
  public func abortMultipartUpload(key: String, uploadID: String) async throws {
    do {
      _ = try await transport.send(
        S3Request(operation: "AbortMultipartUpload", method: .DELETE, key: key, query: [("uploadId", uploadID)]))
    } catch let error as S3Error where error.code == .noSuchUpload {
      return
    }
  }

  /// Every part of a multipart upload, following pagination.
  ///
  /// - Parameter pageSize: parts per request (S3's default and maximum is 1,000).
  public func listParts(key: String, uploadID: String, pageSize: Int = 1_000) async throws -> [S3Part] {
    var parts: [S3Part] = []
    var marker: String?
    repeat {
      var query = [("uploadId", uploadID), ("max-parts", String(pageSize))]
      if let marker { query.append(("part-number-marker", marker)) }
      let document = try Self.document(
        try await transport.send(S3Request(operation: "ListParts", method: .GET, key: key, query: query)), "ListParts")
      for node in document.children("Part") {
        guard let number = node.text("PartNumber").flatMap(Int.init), let etag = node.text("ETag") else {
          throw malformed("ListParts", "a part without PartNumber or ETag")
        }
        parts.append(
          S3Part(number: number, etag: etag, size: node.text("Size").flatMap(Int64.init),
            checksumSHA256: node.text("ChecksumSHA256")))
      }
      marker = nil
      if document.text("IsTruncated") == "true" {
        guard let last = parts.last, !document.children("Part").isEmpty else {
          throw malformed("ListParts", "a truncated page without parts")
        }
        marker = document.text("NextPartNumberMarker").flatMap { $0.isEmpty ? nil : $0 } ?? String(last.number)
      }
    } while marker != nil
    return parts
  }

  /// Every multipart upload in progress under `prefix`, following pagination.
  ///
  /// The next page starts from the markers the server returns. AWS returns both
  /// `NextKeyMarker` and `NextUploadIdMarker`; SeaweedFS orders by upload id and returns only
  /// `NextUploadIdMarker`, so each marker is sent only when the server gave it.
  public func listMultipartUploads(prefix: String = "", pageSize: Int = 1_000) async throws
    -> [S3MultipartUpload]
  {
    var uploads: [S3MultipartUpload] = []
    var markers: [(String, String)] = []
    while true {
      var query = [("uploads", ""), ("max-uploads", String(pageSize))]
      if !prefix.isEmpty { query.append(("prefix", prefix)) }
      query += markers
      let document = try Self.document(
        try await transport.send(S3Request(operation: "ListMultipartUploads", method: .GET, key: nil, query: query)),
        "ListMultipartUploads")
      for node in document.children("Upload") {
        guard let key = node.text("Key"), let uploadID = node.text("UploadId") else {
          throw malformed("ListMultipartUploads", "an upload without Key or UploadId")
        }
        uploads.append(S3MultipartUpload(key: key, uploadID: uploadID))
      }
      guard document.text("IsTruncated") == "true" else { return uploads }
      var next: [(String, String)] = []
      if let key = document.text("NextKeyMarker"), !key.isEmpty { next.append(("key-marker", key)) }
      if let id = document.text("NextUploadIdMarker"), !id.isEmpty { next.append(("upload-id-marker", id)) }
      guard !next.isEmpty, !next.elementsEqual(markers, by: ==) else {
        throw malformed("ListMultipartUploads", "a truncated page whose markers do not advance")
      }
      markers = next
    }
  }

  /// Stores a whole object in one request (small or empty objects).
  ///
  /// - Returns: the object's ETag.
  public func putObject(
    key: String, body: S3Body, sha256: ContentHash, contentType: String? = nil, metadata: [String: String] = [:]
  ) async throws -> String {
    let headers = [("x-amz-checksum-sha256", sha256.base64)] + Self.objectHeaders(contentType, metadata)
    let response = try await transport.send(
      S3Request(operation: "PutObject", method: .PUT, key: key, headers: headers, body: body,
        payloadHash: sha256.hex))
    return response.headers.first(name: "etag") ?? ""
  }

  /// The object's size, ETag, content type and metadata.
  public func headObject(key: String) async throws -> S3ObjectInfo {
    let response = try await transport.send(S3Request(operation: "HeadObject", method: .HEAD, key: key))
    guard let size = response.headers.first(name: "content-length").flatMap(Int64.init) else {
      throw malformed("HeadObject", "no Content-Length in the response")
    }
    let prefix = "x-amz-meta-"
    var metadata: [String: String] = [:]
    for (name, value) in response.headers where name.lowercased().hasPrefix(prefix) {
      metadata[String(name.lowercased().dropFirst(prefix.count))] = value
    }
    return S3ObjectInfo(
      size: size, etag: response.headers.first(name: "etag"), contentType: response.headers.first(name: "content-type"),
      metadata: metadata)
  }

  /// Streams the object's bytes to `consume`, chunk by chunk. The request is retried until the
  /// response starts; a failure while the body streams is thrown.
  public func getObject(key: String, consume: (ByteBuffer) async throws -> Void) async throws {
    let request = S3Request(operation: "GetObject", method: .GET, key: key)
    struct Interrupted: Error { var error: S3Error }
    var started = false
    do {
      try await transport.retrying(request.operation) {
        do {
          try await transport.attempt(request) { response in
            for try await chunk in response.body {
              started = true
              try await consume(chunk)
            }
          }
        } catch let error as S3Error where started {
          // `consume` has seen bytes: a retry would hand it the first ones again.
          throw Interrupted(error: error)
        }
      }
    } catch let interrupted as Interrupted {
      throw interrupted.error
    }
  }

  /// The headers that give an object its content type and metadata (`x-amz-meta-<name>`).
  static func objectHeaders(_ contentType: String?, _ metadata: [String: String]) -> [(String, String)] {
    var headers: [(String, String)] = []
    if let contentType, !contentType.isEmpty { headers.append(("content-type", contentType)) }
    for (name, value) in metadata.sorted(by: { $0.key < $1.key }) { headers.append(("x-amz-meta-\(name)", value)) }
    return headers
  }

  func malformed(_ operation: String, _ message: String) -> S3Error {
    S3Error(code: .malformedResponse, httpStatus: nil, message: message, operation: operation)
  }

  static func document(_ response: S3Response, _ operation: String) throws -> XMLNode {
    guard let document = XMLNode.parse(Data(response.body.readableBytesView)) else {
      throw S3Error(
        code: .malformedResponse, httpStatus: Int(response.status.code),
        message: "the response is not XML", operation: operation)
    }
    return document
  }

  private static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }
}
