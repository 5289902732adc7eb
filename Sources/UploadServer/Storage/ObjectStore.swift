import NIOCore
import UploadCore

/// Where finished objects go: an S3 bucket or a local directory.
///
/// The staging pipeline hands the store whole parts that are already on disk and verified, so
/// a store only moves bytes. Every method throws `UploadError`: stores translate their own
/// failures at the edge.
public protocol ObjectStore: Sendable {
  /// A short name for logs (`s3://bucket`, `file:///data/objects`).
  var name: String { get }

  /// Checks, at start-up, that the store can be used (bucket exists, credentials work).
  func checkAvailability() async throws(UploadError)

  /// Starts a multipart upload of an object that will carry `attributes` (stores that attach
  /// them at completion ignore them here).
  ///
  /// - Returns: the store's upload id.
  func createUpload(key: ObjectKey, attributes: ObjectAttributes) async throws(UploadError) -> String

  /// Uploads one part from its spool file.
  ///
  /// - Returns: the part's ETag.
  func uploadPart(key: ObjectKey, uploadID: String, part: SpooledPart) async throws(UploadError)
    -> String

  /// Whether the store checks every part against its declared SHA-256 and refuses one whose
  /// bytes differ (`.digestMismatch`). The server then does not hash parts whose digest the
  /// client declared before their first byte.
  var verifiesDigests: Bool { get }

  /// The store's ability to upload a part while the part still arrives, if it has it; parts
  /// are forwarded only to stores that do. Nil by default: such a store is sent whole parts.
  var growingParts: (any GrowingPartUploads)? { get }

  /// Assembles the parts into the object, with `attributes` (stores that attached them at
  /// `createUpload` ignore them here). The object appears whole or not at all.
  func completeUpload(key: ObjectKey, uploadID: String, parts: [CommittedPart], attributes: ObjectAttributes)
    async throws(UploadError) -> StoredObject

  /// Discards a multipart upload and its parts. Aborting an unknown upload succeeds.
  func abortUpload(key: ObjectKey, uploadID: String) async throws(UploadError)

  /// The parts the store holds for a multipart upload, by number, with what it says of them:
  /// one entry per number in S3, where a part uploaded again replaces the earlier one; several
  /// in stores that keep every upload of a number (SeaweedFS) and pick by ETag at completion.
  ///
  /// - Throws: `.sessionClosed` when the upload no longer exists.
  func listParts(key: ObjectKey, uploadID: String) async throws(UploadError) -> [Int: [ListedPart]]

  /// Stores a small object held in memory in one step, checked against `sha256` as parts are;
  /// it is durable in the store when this returns.
  func putObject(key: ObjectKey, bytes: ByteBuffer, sha256: ContentHash, attributes: ObjectAttributes)
    async throws(UploadError) -> StoredObject

  /// Stores a small object (one spool file, possibly empty) in one step.
  func putObject(key: ObjectKey, part: SpooledPart, attributes: ObjectAttributes) async throws(UploadError)
    -> StoredObject

  /// Reads the object back from the store and hashes its bytes.
  ///
  /// - Throws: `.objectMissing` when the object is gone; `.storageUnavailable` when the store
  ///   fails, also part-way through.
  func digest(ofObject key: ObjectKey) async throws(UploadError) -> ObjectDigest

  /// Gives the object `attributes` in place of the ones it has, keeping its bytes.
  ///
  /// - Parameter size: the object's size.
  /// - Returns: the object's new ETag, or nil when it did not change.
  func replaceAttributes(key: ObjectKey, size: Int64, attributes: ObjectAttributes) async throws(UploadError)
    -> String?
}

/// What reading an object back found.
public struct ObjectDigest: Hashable, Sendable {
  /// The SHA-256 of the object's bytes.
  public var sha256: ContentHash
  /// How many bytes it has.
  public var size: Int64

  /// Creates a digest.
  public init(sha256: ContentHash, size: Int64) {
    self.sha256 = sha256
    self.size = size
  }
}

extension ObjectStore {
  /// False: the server hashes what it receives unless the store says otherwise.
  public var verifiesDigests: Bool { false }

  /// Nil: a store uploads whole parts unless it says otherwise.
  public var growingParts: (any GrowingPartUploads)? { nil }
}

/// A part staged on local disk, complete and hashed.
public struct SpooledPart: Hashable, Sendable {
  /// The part number, from 1.
  public var number: Int
  /// The spool file holding exactly the part's bytes.
  public var path: String
  /// The part's size in bytes.
  public var size: Int64
  /// The SHA-256 of the part's bytes.
  public var sha256: ContentHash

  /// Creates a description of a staged part.
  public init(number: Int, path: String, size: Int64, sha256: ContentHash) {
    self.number = number
    self.path = path
    self.size = size
    self.sha256 = sha256
  }
}

/// A part as the store lists it: what it reports, which may be less than everything.
public struct ListedPart: Hashable, Sendable {
  /// The store's ETag for the part (empty when it has none).
  public var etag: String
  /// The part's size, when reported.
  public var size: Int64?
  /// The part's SHA-256, when the store reports its checksum.
  public var sha256: ContentHash?

  /// Creates a listed part.
  public init(etag: String, size: Int64? = nil, sha256: ContentHash? = nil) {
    self.etag = etag
    self.size = size
    self.sha256 = sha256
  }
}

/// A part the store has accepted.
public struct CommittedPart: Hashable, Sendable {
  /// The part number, from 1.
  public var number: Int
  /// The store's ETag for the part.
  public var etag: String
  /// The part's size in bytes.
  public var size: Int64
  /// The SHA-256 of the part's bytes.
  public var sha256: ContentHash

  /// Creates a description of a committed part.
  public init(number: Int, etag: String, size: Int64, sha256: ContentHash) {
    self.number = number
    self.etag = etag
    self.size = size
    self.sha256 = sha256
  }
}

/// A finished object.
public struct StoredObject: Hashable, Sendable {
  /// The object's key.
  public var key: ObjectKey
  /// Where it is (`s3://bucket/key` or a file URL).
  public var location: String
  /// The store's ETag for the object.
  public var etag: String
}
