import Foundation
import UploadCore

extension SessionReceiver {
  /// A session that accepts parts.
  func openSession(_ id: SessionID, owner: Principal) async throws(UploadError) -> SessionRecord {
    let session = try await sessions.session(id, owner: owner)
    guard session.state.acceptsParts else {
      throw UploadError(.sessionClosed, "session \(id) is \(session.state.rawValue); it accepts no more parts")
    }
    return session
  }

  /// Refuses a chunk for a part the session cannot have, past the largest object, or ending a
  /// session of known size anywhere but at its end.
  func check(_ chunk: Chunk, in session: SessionRecord) throws(UploadError) {
    let plan = session.plan
    guard plan.contains(part: chunk.partNumber) else {
      throw UploadError(
        .invalidRequest,
        plan.isSizeKnown
          ? "session \(session.id) has parts 1 to \(plan.partCount); got part \(chunk.partNumber)"
          : "a session of unknown size has parts 1 to \(plan.partCount); got part \(chunk.partNumber)")
    }
    if plan.isSizeKnown {
      guard !chunk.endsObject || chunk.partNumber == plan.partCount else {
        throw UploadError(
          .invalidRequest,
          "session \(session.id) is \(plan.size ?? 0) bytes, ending in part \(plan.partCount); part \(chunk.partNumber) cannot end it")
      }
    } else {
      let end = plan.offset(ofPart: chunk.partNumber) + chunk.offset + Int64(chunk.data.count)
      guard end <= sessions.settings.maximumObjectSize else {
        throw UploadError(
          .objectTooLarge, "the object is larger than \(sessions.settings.maximumObjectSize) bytes, the most this server accepts")
      }
    }
  }

  /// Makes the bytes a stream wrote durable before it moves to another part or ends.
  func release(_ writing: Writing, _ sink: EventSink) async throws {
    if let received = await writing.writer.flush(generation: writing.generation) {
      try await sink.send(.progress(part: writing.writer.number, receivedBytes: received))
    }
  }

  func commit(_ part: PartRecord, of session: SessionRecord, _ sink: EventSink) async throws {
    guard session.storageUploadID != nil else { return }
    let record = try await sessions.writers.commit(part, of: session)
    try await sink.send(.committed(part: record.number, sha256: record.sha256 ?? .empty, etag: record.etag ?? ""))
  }

  static func declaredDigest(_ chunk: Chunk) throws(UploadError) -> ContentHash? {
    guard !chunk.partSHA256.isEmpty else { return nil }
    guard let digest = ContentHash(bytes: Array(chunk.partSHA256)) else {
      throw UploadError(
        .invalidRequest, "part_sha256 is \(chunk.partSHA256.count) bytes; a SHA-256 is 32 bytes")
    }
    return digest
  }

  static func streamError(_ error: any Error) -> UploadError {
    switch error {
    case let error as UploadError: error
    case is CancellationError: UploadError(.cancelled, "the stream was cancelled")
    default: UploadError(.cancelled, "the request stream ended abnormally: \(error)")
    }
  }
}
