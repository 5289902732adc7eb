import UploadCore

extension SessionCoordinator {
  /// Completes the session: uploads received parts not yet committed, checks every part digest
  /// against the client's journal, completes the multipart upload and records the client's
  /// whole-file digest (nil from a door whose client gives none: tus). With `verify` (or
  /// `settings.verifiesCompletedObjects`) the object is then read back (`verify(_:owner:)`).
  /// Completing a completed session returns it again, and verifies it if asked and not done yet.
  ///
  /// - Throws: `.sessionNotFound`; `.sessionClosed` (aborted or expired); `.invalidRequest`
  ///   (wrong number of digests); `.partsMissing` and `.digestMismatch` (the session is open
  ///   again for the parts to come again); `.storageUnavailable` (the session stays completing
  ///   and may be completed again); `.digestMismatch` from the read back (the session is
  ///   completed, the object does not claim the digest).
  public func complete(
    _ id: SessionID, owner: Principal, sha256: ContentHash?, partSHA256s: [ContentHash], verify: Bool = false
  ) async throws(UploadError) -> SessionRecord {
    let verify = verify || settings.verifiesCompletedObjects
    var session = try await session(id, owner: owner)
    switch session.state {
    case .completed:
      try Self.checkVerdict(session)
      return verify && session.verifiedSHA256 == nil ? try await self.verify(session) : session
    case .aborted, .expired: throw UploadError(.sessionClosed, "session \(id) is \(session.state.rawValue)")
    case .open, .completing: break
    }
    guard session.plan.isSizeKnown else {
      throw UploadError(
        .partsMissing,
        "session \(id) has an unknown size and its final chunk has not arrived; send the chunk that ends the object (ends_object) first")
    }
    guard partSHA256s.count == session.plan.partCount else {
      throw UploadError(
        .invalidRequest,
        "session \(id) has \(session.plan.partCount) parts; CompleteSession listed \(partSHA256s.count) digests")
    }
    let parts = try await store.parts(of: id)
    let missing = parts.filter { $0.state == .receiving }.map(\.number)
    guard missing.isEmpty else {
      throw UploadError(
        .partsMissing,
        "session \(id) is missing \(missing.count) part(s): \(missing.prefix(20).map(String.init).joined(separator: ", "))\(missing.count > 20 ? ", ..." : "")")
    }
    for (part, digest) in zip(parts, partSHA256s) where part.sha256 != digest {
      throw UploadError(
        .digestMismatch,
        "part \(part.number) of session \(id): the server received sha256 \(part.sha256?.hex ?? "none"), the client's journal says \(digest.hex)")
    }

    session.state = .completing
    session.updatedAt = settings.nowMilliseconds
    try await store.update(session)
    let stored: StoredObject
    do {
      stored = try await assembler.assemble(session, parts: parts)
    } catch where error.code == .partsMissing || error.code == .digestMismatch {
      // Parts were lost on the way (their node died, the store lacks them, or the store found
      // their bytes changed and the committer reset them): the session takes parts again, and
      // the client sends those.
      session.state = .open
      session.updatedAt = settings.nowMilliseconds
      try await store.update(session)
      throw error
    }
    session.state = .completed
    session.sha256 = sha256
    session.etag = stored.etag
    session.location = stored.location
    session.updatedAt = settings.nowMilliseconds
    try await store.update(session, notify: notifier != nil)
    notifier?.nudge()
    await writers.close(id)
    await spool.remove(spool.sessionDirectory(id))
    logger.info(
      "session completed",
      metadata: ["session": "\(id)", "key": "\(session.key)", "size": "\(session.plan.size ?? 0)", "sha256": "\(sha256.map { "\($0)" } ?? "none")"])
    return verify ? try await self.verify(session) : session
  }
}
