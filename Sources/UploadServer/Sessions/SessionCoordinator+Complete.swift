import NIOFileSystem
import Synchronization
import UploadCore

extension SessionCoordinator {
  /// Completes the session: uploads received parts not yet committed, checks every part digest
  /// against the client's journal, completes the multipart upload and records the client's
  /// whole-file digest. With `verify` (or `settings.verifiesCompletedObjects`) the object is then
  /// read back (`verify(_:owner:)`). Completing a completed session returns it again, and
  /// verifies it if asked and not done yet.
  ///
  /// - Throws: `.sessionNotFound`; `.sessionClosed` (aborted or expired); `.invalidRequest`
  ///   (wrong number of digests); `.partsMissing` and `.digestMismatch` (the session is open
  ///   again for the parts to come again); `.storageUnavailable` (the session stays completing
  ///   and may be completed again); `.digestMismatch` from the read back (the session is
  ///   completed, the object does not claim the digest).
  public func complete(
    _ id: SessionID, owner: Principal, sha256: ContentHash, partSHA256s: [ContentHash], verify: Bool = false
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
      stored = try await storeObject(session, parts: parts)
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
      metadata: ["session": "\(id)", "key": "\(session.key)", "size": "\(session.plan.size ?? 0)", "sha256": "\(sha256)"])
    return verify ? try await self.verify(session) : session
  }

  /// Commits what is not committed yet, then assembles the object (or stores an empty one).
  private func storeObject(_ session: SessionRecord, parts: [PartRecord]) async throws(UploadError)
    -> StoredObject
  {
    guard let uploadID = session.storageUploadID, session.plan.partCount > 0 else {
      if let uploadID = session.storageUploadID {
        // A stream of unknown length that turned out empty: no multipart upload can hold it.
        try await objectStore.abortUpload(key: session.key, uploadID: uploadID)
      }
      do {
        let empty = try await spool.emptyFile(for: session.id)
        return try await objectStore.putObject(
          key: session.key, part: SpooledPart(number: 1, path: empty.string, size: 0, sha256: .empty),
          attributes: session.objectAttributes)
      } catch {
        throw UploadError.fromFileSystem(error, while: "storing the empty object \"\(session.key)\"")
      }
    }
    let committed = try await reconciled(session, try await commitAll(session, parts: parts, uploadID: uploadID), uploadID)
    return try await objectStore.completeUpload(
      key: session.key, uploadID: uploadID,
      parts: committed.map {
        CommittedPart(number: $0.number, etag: $0.etag ?? "", size: $0.size, sha256: $0.sha256 ?? .empty)
      }, attributes: session.objectAttributes)
  }

  /// Commits every received part this node holds, a few at a time, and waits for the other
  /// nodes to commit theirs; returns all parts, committed, in order.
  private func commitAll(_ session: SessionRecord, parts: [PartRecord], uploadID: String) async throws(UploadError)
    -> [PartRecord]
  {
    let done = Mutex(Dictionary(uniqueKeysWithValues: parts.map { ($0.number, $0) }))
    let permits = AsyncSemaphore(permits: settings.maximumConcurrentCommits)
    let received = parts.filter { $0.state == .received }
    let elsewhere = received.filter { $0.holderNode != nil && $0.holderNode != store.node }
    do {
      try await withThrowingDiscardingTaskGroup { group in
        for part in received where part.holderNode == nil || part.holderNode == store.node {
          let added = try await group.addTask(holding: permits) {
            let committed = try await self.writers.commit(part, of: session)
            done.withLock { $0[committed.number] = committed }
          }
          if !added { break }
        }
      }
    } catch let error as UploadError {
      throw error
    } catch is CancellationError {
      throw UploadError(.cancelled, "committing the parts of session \(session.id) was cancelled")
    } catch {
      throw UploadError(.internal, "committing the parts of session \(session.id): \(error)")
    }
    for part in try await committedElsewhere(session, elsewhere) {
      done.withLock { $0[part.number] = part }
    }
    return done.withLock { $0.values.sorted { $0.number < $1.number } }
  }

  /// Waits for received parts held by other nodes to be committed there (their stream or their
  /// committer does it) and returns them committed.
  ///
  /// - Throws: `.partsMissing` when one was reset meanwhile (its node stopped: the client sends
  ///   it again); `.storageUnavailable` when they are still not committed after
  ///   `foreignCommitWait` (the client completes again later).
  private func committedElsewhere(_ session: SessionRecord, _ parts: [PartRecord]) async throws(UploadError)
    -> [PartRecord]
  {
    guard !parts.isEmpty else { return [] }
    let numbers = Set(parts.map(\.number))
    let deadline = ContinuousClock.now + settings.foreignCommitWait
    while true {
      let now = try await store.parts(of: session.id).filter { numbers.contains($0.number) }
      if let reset = now.first(where: { $0.state == .receiving }) {
        throw UploadError(
          .partsMissing,
          "part \(reset.number) of session \(session.id) was lost with the node that held it; send it again")
      }
      if now.allSatisfy({ $0.state == .committed }) { return now }
      guard ContinuousClock.now < deadline else {
        let waiting = now.filter { $0.state != .committed }
        throw UploadError(
          .storageUnavailable,
          "part(s) \(waiting.map { String($0.number) }.joined(separator: ", ")) of session \(session.id) are still being committed by node(s) \(Set(waiting.compactMap(\.holderNode)).sorted().joined(separator: ", ")); complete again shortly")
      }
      try? await Task.sleep(for: .milliseconds(100))
      if Task.isCancelled { throw UploadError(.cancelled, "CompleteSession was cancelled") }
    }
  }

  /// The committed parts as the object store lists them (`ListedPart.verdict`): the ETag to
  /// complete with for each, or the parts to receive again, which are reset.
  ///
  /// - Throws: `.partsMissing` after resetting such parts.
  private func reconciled(_ session: SessionRecord, _ parts: [PartRecord], _ uploadID: String)
    async throws(UploadError) -> [PartRecord]
  {
    let listed = try await objectStore.listParts(key: session.key, uploadID: uploadID)
    var checked: [PartRecord] = []
    var wrong: [Int] = []
    for var part in parts {
      switch ListedPart.verdict(for: part, listed: listed[part.number] ?? []) {
      case .complete(let etag):
        part.etag = etag
        checked.append(part)
      case .receiveAgain(let reason):
        logger.warning(
          "a committed part is not in the object store as recorded; it is received again",
          metadata: ["session": "\(session.id)", "part": "\(part.number)", "reason": "\(reason)"])
        try await store.reset(part, to: 0)
        wrong.append(part.number)
      }
    }
    guard wrong.isEmpty else {
      throw UploadError(
        .partsMissing,
        "part(s) \(wrong.map(String.init).joined(separator: ", ")) of session \(session.id) were not in the object store as recorded; send them again")
    }
    return checked
  }
}
