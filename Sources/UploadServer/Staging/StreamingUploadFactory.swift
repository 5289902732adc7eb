import Logging
import UploadCore

/// What every `StreamingUpload` shares: the store, the spool and the sizing rules.
struct StreamingUploadFactory: Sendable {
  let store: any ObjectStore
  let spool: Spool
  let sizing: PartSizing
  let maximumConcurrentParts: Int
  let aborts: AbortRetrier
  let metrics: ServerMetrics
  let logger: Logger

  func make(key: ObjectKey) -> StreamingUpload {
    var logger = logger
    logger[metadataKey: "key"] = "\(key)"
    return StreamingUpload(
      key: key, store: store, spool: spool, sizing: sizing,
      maximumConcurrentParts: maximumConcurrentParts, aborts: aborts, metrics: metrics, logger: logger)
  }
}
