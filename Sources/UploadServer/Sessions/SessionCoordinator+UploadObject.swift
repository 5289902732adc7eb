import Crypto
import NIOCore
import UploadCore

extension SessionCoordinator {
  /// Stores a small object in one step (`UploadObject`): checks the bytes against `sha256`,
  /// puts them in the object store whole, then records the session completed with its one part
  /// committed, in one transaction. With `verify` (or `settings.verifiesCompletedObjects`) the
  /// object is then read back, as `complete` does.
  ///
  /// Nothing is recorded before the object is stored, so a failure part-way leaves no session,
  /// no spool and no multipart upload; a retry with the same idempotency key stores the same
  /// bytes again. A retry of a call that succeeded returns its session.
  ///
  /// - Throws: what `create` throws, but `.tooManySessions` (the session is never open);
  ///   `.invalidRequest` when `request.size` is not the length of `bytes`; `.digestMismatch`
  ///   when they do not hash to `sha256` (nothing is kept); for an idempotency key used before,
  ///   `.idempotencyConflict` (another object or SHA-256), `.sessionClosed` (aborted or
  ///   expired) or `.sessionInProgress` (a session from `create`, not completed yet).
  public func uploadObject(
    _ request: CreateRequest, bytes: ByteBuffer, sha256: ContentHash, verify: Bool = false, owner: Principal
  ) async throws(UploadError) -> SessionRecord {
    guard let size = request.size, size == Int64(bytes.readableBytes) else {
      throw UploadError(
        .invalidRequest,
        "the size is \(request.size.map { "\($0) bytes" } ?? "unknown") but the data holds \(bytes.readableBytes) bytes; UploadObject needs the object's exact size")
    }
    let received = ContentHash(SHA256.hash(data: bytes.readableBytesView))
    guard received == sha256 else {
      throw UploadError(
        .digestMismatch,
        "the data hashes to sha256 \(received.hex), the request says \(sha256.hex); nothing was kept: send it again")
    }
    let verify = verify || settings.verifiesCompletedObjects
    var (session, attributes) = try newSession(request, owner: owner)
    if let idempotencyKey = session.idempotencyKey,
      let earlier = try await existingSession(idempotencyKey: idempotencyKey, like: session)
    {
      metrics.bytesReceivedAgain.increment(by: bytes.readableBytes)
      return try await storedBefore(earlier, sha256: sha256, verify: verify)
    }

    metrics.bytesReceived.increment(by: bytes.readableBytes)
    let stored = try await objectStore.putObject(key: session.key, bytes: bytes, sha256: sha256, attributes: attributes)
    let now = settings.nowMilliseconds
    session.state = .completed
    session.sha256 = sha256
    session.etag = stored.etag
    session.location = stored.location
    session.updatedAt = now
    let parts =
      size == 0
      ? [] : [PartRecord(sessionID: session.id, number: 1, size: size, sha256: sha256, etag: stored.etag, state: .committed, updatedAt: now)]
    let (recorded, created) = try await store.insertCompleted(session, parts: parts, notify: notifier != nil)
    guard created else {
      // A retry of the same call recorded it first: it stored the same bytes.
      return try await storedBefore(try Self.checkSame(recorded, as: session), sha256: sha256, verify: verify)
    }
    notifier?.nudge()
    logger.info(
      "object stored in one step",
      metadata: ["session": "\(session.id)", "key": "\(session.key)", "size": "\(size)", "sha256": "\(sha256)"])
    return verify ? try await self.verify(recorded) : recorded
  }

  /// What a retried `uploadObject` answers with the session its idempotency key names.
  private func storedBefore(_ earlier: SessionRecord, sha256: ContentHash, verify: Bool) async throws(UploadError)
    -> SessionRecord
  {
    switch earlier.state {
    case .completed:
      guard earlier.sha256 == sha256 else {
        throw UploadError(
          .idempotencyConflict,
          "the idempotency key was used for session \(earlier.id), completed with sha256 \(earlier.sha256?.hex ?? "none"); these bytes hash to \(sha256.hex): use a new key for different bytes")
      }
      try Self.checkVerdict(earlier)
      return verify && earlier.verifiedSHA256 == nil ? try await self.verify(earlier) : earlier
    case .aborted, .expired:
      throw UploadError(.sessionClosed, "the idempotency key names session \(earlier.id), which was \(earlier.state.rawValue)")
    case .open, .completing:
      throw UploadError(
        .sessionInProgress,
        "the idempotency key names session \(earlier.id), created by CreateSession and not completed; continue it with UploadParts and CompleteSession")
    }
  }
}
