import Foundation
import UploadCore
import UploadProtocol

extension Uploader_V1_Session {
  /// The wire form of a session, with its parts when given.
  init(_ session: SessionRecord, parts: [PartRecord] = [], settings: SessionSettings) {
    self.init()
    id = session.id.rawValue
    key = session.key.rawValue
    size = UInt64(session.plan.size ?? 0)
    sizeUnknown = !session.plan.isSizeKnown
    partSize = UInt64(session.plan.partSize)
    partCount = session.plan.isSizeKnown ? UInt32(session.plan.partCount) : 0
    partsPerTier = session.plan.sizing.isUniform ? 0 : UInt32(clamping: session.plan.sizing.partsPerTier)
    acknowledgementBytes = UInt64(settings.acknowledgementBytes)
    spooledReportBytes = UInt64(settings.spooledReportBytes)
    contentType = session.contentType
    metadata = session.metadata
    state = Uploader_V1_SessionState(session.state)
    self.parts = parts.map(Uploader_V1_Part.init)
    sha256 = session.sha256.map { Data($0.bytes) } ?? Data()
    verifiedSha256 = session.verifiedSHA256.map { Data($0.bytes) } ?? Data()
    etag = session.etag ?? ""
    location = session.location ?? ""
    createdAtMs = session.createdAt
    updatedAtMs = session.updatedAt
    expiresAtMs = session.expiresAt
  }
}

extension Uploader_V1_Part {
  init(_ part: PartRecord) {
    self.init()
    number = UInt32(part.number)
    size = UInt64(part.size)
    receivedBytes = UInt64(part.receivedBytes)
    state =
      switch part.state {
      case .receiving: .receiving
      case .received: .received
      case .committed: .committed
      }
    sha256 = part.sha256.map { Data($0.bytes) } ?? Data()
    etag = part.etag ?? ""
  }
}

extension Uploader_V1_SessionState {
  init(_ state: SessionState) {
    self =
      switch state {
      case .open: .open
      case .completing: .completing
      case .completed: .completed
      case .aborted: .aborted
      case .expired: .expired
      }
  }
}

extension Uploader_V1_UploadEvent {
  init(_ event: SessionReceiver.Event, creditBytes: Int64) {
    self.init()
    self.creditBytes = UInt64(max(0, creditBytes))
    switch event {
    case .progress(let part, let received):
      progress = .with {
        $0.partNumber = UInt32(part)
        $0.receivedBytes = UInt64(received)
      }
    case .spooled(let part, let bytes):
      spooled = .with {
        $0.partNumber = UInt32(part)
        $0.spooledBytes = UInt64(bytes)
      }
    case .committed(let part, let sha256, let etag):
      committed = .with {
        $0.partNumber = UInt32(part)
        $0.sha256 = Data(sha256.bytes)
        $0.etag = etag
      }
    }
  }
}
