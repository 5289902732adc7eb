import Foundation
import UploadCore

extension SessionReceiver {
  /// One chunk of a part, as a stream carries it.
  public struct Chunk: Sendable {
    public var sessionID: String
    public var partNumber: Int
    public var offset: Int64
    public var data: Data
    public var last: Bool
    /// The part's SHA-256 as 32 bytes, or empty.
    public var partSHA256: Data
    /// The object ends with this chunk (sessions of unknown size).
    public var endsObject: Bool
    /// Receive the part as its bytes hash when no digest is declared: set by the original
    /// contract's adapter, whose client declares none; never from the wire.
    var acceptsUndeclaredDigest = false

    public init(
      sessionID: String, partNumber: Int, offset: Int64, data: Data, last: Bool, partSHA256: Data,
      endsObject: Bool = false
    ) {
      self.sessionID = sessionID
      self.partNumber = partNumber
      self.offset = offset
      self.data = data
      self.last = last
      self.partSHA256 = partSHA256
      self.endsObject = endsObject
    }
  }

  /// What a stream tells its client.
  public enum Event: Sendable, Hashable {
    /// `receivedBytes` of the part are durable.
    case progress(part: Int, receivedBytes: Int64)
    /// The first `bytes` of the part are in the spool, not yet durable.
    case spooled(part: Int, bytes: Int64)
    /// The part is in the object store.
    case committed(part: Int, sha256: ContentHash, etag: String)
  }
}
