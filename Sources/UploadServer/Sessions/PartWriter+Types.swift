import Crypto
import NIOFileSystem
import UploadCore

extension PartWriter {
  /// What a write led to.
  enum Outcome: Sendable {
    /// Written, not yet durable.
    case buffered
    /// Everything up to `receivedBytes` is durable and recorded.
    case durable(receivedBytes: Int64)
    /// The part is complete, verified and recorded; it can be committed.
    case received(PartRecord)
    /// The part had already been received; the chunk was a duplicate.
    case alreadyReceived(size: Int64)
  }

  /// The spool file and the bookkeeping of a part being received.
  struct OpenPart {
    var handle: ReadWriteFileHandle
    /// Nil when the object store verifies the part's declared digest itself.
    var hasher: SHA256?
    var ledger: PartLedger
    var lastDurableAt: ContinuousClock.Instant
    /// Set once the part is received and its file closed.
    var finished = false
    /// Set once a chunk ended the object in this part.
    var endsObject = false
  }
}
