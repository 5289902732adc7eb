/// A part of a multipart upload, as S3 lists it or as CompleteMultipartUpload takes it.
public struct S3Part: Hashable, Sendable {
  /// The part number, from 1.
  public var number: Int
  /// The ETag S3 returned for the part.
  public var etag: String
  /// The part's size, when S3 reported it.
  public var size: Int64?
  /// The part's base64 SHA-256 checksum, when S3 reported it.
  public var checksumSHA256: String?

  /// Creates a part.
  public init(number: Int, etag: String, size: Int64? = nil, checksumSHA256: String? = nil) {
    self.number = number
    self.etag = etag
    self.size = size
    self.checksumSHA256 = checksumSHA256
  }
}

/// A multipart upload in progress, as ListMultipartUploads lists it.
public struct S3MultipartUpload: Hashable, Sendable {
  /// The object key.
  public var key: String
  /// The upload id.
  public var uploadID: String

  /// Creates an entry.
  public init(key: String, uploadID: String) {
    self.key = key
    self.uploadID = uploadID
  }
}

/// What HeadObject reports about an object.
public struct S3ObjectInfo: Hashable, Sendable {
  /// The object's size in bytes.
  public var size: Int64
  /// The object's ETag.
  public var etag: String?
  /// The object's content type.
  public var contentType: String?
  /// The object's user metadata (`x-amz-meta-<name>`), by name.
  public var metadata: [String: String]

  /// Creates an entry.
  public init(size: Int64, etag: String?, contentType: String? = nil, metadata: [String: String] = [:]) {
    self.size = size
    self.etag = etag
    self.contentType = contentType
    self.metadata = metadata
  }
}

/// One page of a paginated listing.
public struct S3Page<Item: Sendable>: Sendable {
  /// The page's items.
  public var items: [Item]
  /// The marker to pass for the next page, or nil on the last page.
  public var nextMarker: String?
}
