import UploadCore

/// An upload as the journal remembers it.
public struct JournalUpload: Hashable, Sendable {
  /// How an upload looks to the user.
  public enum State: String, Sendable, Hashable, CaseIterable {
    /// Recorded, nothing sent yet.
    case pending
    /// Started; `uploader resume` continues it.
    case uploading
    case completed
    case aborted
    /// Stopped on a permanent error (see `error`).
    case failed
    /// The server expired the session.
    case expired
  }

  /// The local id users type (`uploader resume <id>`).
  public var id: String
  /// `HOST:PORT` of the server.
  public var server: String
  /// The server's session id, once created.
  public var sessionID: String?
  /// The file's absolute path, or `-` for standard input.
  public var filePath: String
  /// The object key.
  public var key: String
  /// What the file was when the upload started; a resume refuses a file that changed.
  public var identity: FileIdentity
  /// The part size in bytes (the first parts' size for standard input).
  public var partSize: Int64
  /// The content type and metadata the object gets.
  public var attributes: ObjectAttributes
  /// Have the server read the object back at completion and verify its SHA-256.
  public var verify: Bool
  /// How it was asked to be sent; `uploader resume` keeps it unless told otherwise.
  public var sending: SendingChoices
  /// The batch it belongs to (`uploader upload DIR`), or nil for an upload of one file.
  public var batchID: String?
  /// How the upload stands.
  public var state: State
  /// The whole file's SHA-256, once the pass that hashes the file beside the sends has read it
  /// all; nil until then.
  public var sha256: ContentHash?
  /// Why it stopped, for a failed upload.
  public var error: String?
  /// Milliseconds since the Unix epoch.
  public var createdAt: Int64
  /// Milliseconds since the Unix epoch, once completed, aborted or failed.
  public var finishedAt: Int64?

  /// The file's parts.
  public var plan: PartPlan { PartPlan(size: identity.size, partSize: partSize) }

  /// The `filePath` of an upload read from standard input, whose size stays unknown (-1) until
  /// the input ends.
  public static let standardInput = "-"

  /// Whether the upload reads standard input: it cannot be resumed by another process.
  public var readsStandardInput: Bool { filePath == Self.standardInput }

  /// An upload as recorded; `Journal.record` makes one for a file.
  public init(
    id: String, server: String, sessionID: String? = nil, filePath: String, key: String, identity: FileIdentity,
    partSize: Int64, attributes: ObjectAttributes = ObjectAttributes(), verify: Bool = false,
    sending: SendingChoices = SendingChoices(), batchID: String? = nil, state: State,
    sha256: ContentHash? = nil, error: String? = nil, createdAt: Int64, finishedAt: Int64? = nil
  ) {
    self.attributes = attributes
    self.verify = verify
    self.sending = sending
    self.batchID = batchID
    self.id = id
    self.server = server
    self.sessionID = sessionID
    self.filePath = filePath
    self.key = key
    self.identity = identity
    self.partSize = partSize
    self.state = state
    self.sha256 = sha256
    self.error = error
    self.createdAt = createdAt
    self.finishedAt = finishedAt
  }
}

/// A part as the journal remembers it.
public struct JournalPart: Hashable, Sendable {
  /// The part number, from 1.
  public var number: Int
  /// The part's size in bytes.
  public var size: Int64
  /// The part's SHA-256, recorded before its first byte is sent; nil until the part is hashed.
  public var sha256: ContentHash?
  /// Bytes the server acknowledged as durable.
  public var acknowledgedBytes: Int64
  /// Whether the server reported the part in the object store.
  public var committed: Bool

  /// A part as recorded.
  public init(number: Int, size: Int64, sha256: ContentHash? = nil, acknowledgedBytes: Int64 = 0, committed: Bool = false) {
    self.number = number
    self.size = size
    self.sha256 = sha256
    self.acknowledgedBytes = acknowledgedBytes
    self.committed = committed
  }
}

/// What identifies a file's content without reading it: a changed size, modification time or
/// inode means it is not the same file.
public struct FileIdentity: Hashable, Sendable {
  /// The size in bytes.
  public var size: Int64
  /// The modification time, in nanoseconds since the Unix epoch.
  public var modificationTimeNanoseconds: Int64
  /// The inode number: a file replaced by another of the same size and time is caught.
  public var inode: UInt64

  /// An identity.
  public init(size: Int64, modificationTimeNanoseconds: Int64, inode: UInt64) {
    self.size = size
    self.modificationTimeNanoseconds = modificationTimeNanoseconds
    self.inode = inode
  }

  /// What changed from `self` to `now`, in words, or nil when nothing did.
  public func changes(to now: FileIdentity) -> String? {
    var changes: [String] = []
    if size != now.size { changes.append("its size changed from \(size) to \(now.size) bytes") }
    if modificationTimeNanoseconds != now.modificationTimeNanoseconds { changes.append("it was modified") }
    if inode != now.inode { changes.append("it was replaced by another file (inode \(inode) -> \(now.inode))") }
    return changes.isEmpty ? nil : changes.joined(separator: ", ")
  }
}
