import Logging
import UploadCore

/// What every `StreamingUpload` shares: the store, the spool and the sizing rules.
struct StreamingUploadFactory: Sendable {
  let store: any ObjectStore
  let spool: Spool
  let sizing: PartSizing
  let maximumConcurrentParts: Int
  let maximumSize: Int64
  /// Where a caller's filename lands.
  let placement: KeyPlacement
  let aborts: AbortRetrier
  let metrics: ServerMetrics
  let logger: Logger

  /// The upload of one stream into `key`.
  func make(key: ObjectKey) -> StreamingUpload {
    var logger = logger
    logger[metadataKey: "key"] = "\(key)"
    return StreamingUpload(
      key: key, store: store, spool: spool, sizing: sizing,
      maximumConcurrentParts: maximumConcurrentParts, maximumSize: maximumSize, aborts: aborts, metrics: metrics, logger: logger)
  }
}
