import UploadCore

/// A session as the store keeps it.
public struct SessionRecord: Hashable, Sendable {
  public var id: SessionID
  public var owner: String
  public var idempotencyKey: String?
  public var key: ObjectKey
  public var plan: PartPlan
  public var contentType: String
  /// The user's metadata, as the object carries it.
  public var metadata: [String: String]
  /// Which door the session came in by.
  public var origin: SessionOrigin
  /// The object store's multipart upload id (nil for an empty object).
  public var storageUploadID: String?
  public var state: SessionState
  /// The whole object's SHA-256, as the client computed it, once completed.
  public var sha256: ContentHash?
  /// The SHA-256 the server computed by reading the completed object back; nil until then.
  public var verifiedSHA256: ContentHash?
  public var etag: String?
  public var location: String?
  /// Milliseconds since the Unix epoch.
  public var createdAt: Int64
  public var updatedAt: Int64
  public var expiresAt: Int64
  /// The session was given up, but its multipart upload could not be aborted yet.
  public var abortPending: Bool

  /// The attributes the object carries: the client's content type and metadata, and the
  /// SHA-256 once the server has read the object back and found the client's.
  public var objectAttributes: ObjectAttributes {
    ObjectAttributes(
      contentType: contentType, metadata: metadata, sha256: verifiedSHA256 != nil && verifiedSHA256 == sha256 ? sha256 : nil)
  }

  public init(
    id: SessionID, owner: String = "", idempotencyKey: String?, key: ObjectKey, plan: PartPlan,
    contentType: String, metadata: [String: String], origin: SessionOrigin = .resumable, storageUploadID: String?,
    state: SessionState,
    sha256: ContentHash? = nil, verifiedSHA256: ContentHash? = nil, etag: String? = nil, location: String? = nil,
    createdAt: Int64, updatedAt: Int64, expiresAt: Int64, abortPending: Bool = false
  ) {
    self.abortPending = abortPending
    self.id = id
    self.owner = owner
    self.idempotencyKey = idempotencyKey
    self.key = key
    self.plan = plan
    self.contentType = contentType
    self.metadata = metadata
    self.origin = origin
    self.storageUploadID = storageUploadID
    self.state = state
    self.sha256 = sha256
    self.verifiedSHA256 = verifiedSHA256
    self.etag = etag
    self.location = location
    self.createdAt = createdAt
    self.updatedAt = updatedAt
    self.expiresAt = expiresAt
  }
}

/// A part as the store keeps it.
public struct PartRecord: Hashable, Sendable {
  public var sessionID: SessionID
  public var number: Int
  public var size: Int64
  /// Bytes durably received.
  public var receivedBytes: Int64
  /// The digest the client declared.
  public var expectedSHA256: ContentHash?
  /// The digest of the received bytes, once verified.
  public var sha256: ContentHash?
  public var etag: String?
  public var state: PartState
  public var updatedAt: Int64
  /// The writer that last claimed the part (`SessionStore.claim`); updates from any other are
  /// refused.
  public var generation: UInt64
  /// The node whose spool holds the part while it is received and until it is committed.
  public var holderNode: String?

  public init(
    sessionID: SessionID, number: Int, size: Int64, receivedBytes: Int64 = 0,
    expectedSHA256: ContentHash? = nil, sha256: ContentHash? = nil, etag: String? = nil,
    state: PartState = .receiving, updatedAt: Int64, generation: UInt64 = 0, holderNode: String? = nil
  ) {
    self.generation = generation
    self.holderNode = holderNode
    self.sessionID = sessionID
    self.number = number
    self.size = size
    self.receivedBytes = receivedBytes
    self.expectedSHA256 = expectedSHA256
    self.sha256 = sha256
    self.etag = etag
    self.state = state
    self.updatedAt = updatedAt
  }
}
