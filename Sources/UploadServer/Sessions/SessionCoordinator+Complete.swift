import NIOFileSystem
import UploadCore

extension SessionCoordinator {
  /// Completes the session: uploads received parts not yet committed, checks every part digest
  /// against the client's journal, completes the multipart upload and records the client's
  /// whole-file digest. Completing a completed session returns it again.
  ///
  /// - Throws: `.sessionNotFound`; `.sessionClosed` (aborted or expired); `.invalidRequest`
  ///   (wrong number of digests); `.partsMissing`; `.digestMismatch`; `.storageUnavailable`
  ///   (the session stays completing and may be completed again).
  public func complete(_ id: SessionID, owner: Principal, sha256: ContentHash, partSHA256s: [ContentHash])
    async throws(UploadError) -> SessionRecord
  {
    var session = try await session(id, owner: owner)
    switch session.state {
    case .completed: return session
    case .aborted, .expired: throw UploadError(.sessionClosed, "session \(id) is \(session.state.rawValue)")
    case .open, .completing: break
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
    let stored = try await storeObject(session, parts: parts)
    session.state = .completed
    session.sha256 = sha256
    session.etag = stored.etag
    session.location = stored.location
    session.updatedAt = settings.nowMilliseconds
    try await store.update(session)
    await slots.close(id)
    await spool.remove(spool.sessionDirectory(id))
    logger.info(
      "session completed",
      metadata: ["session": "\(id)", "key": "\(session.key)", "size": "\(session.plan.size)", "sha256": "\(sha256)"])
    return session
  }

  /// Commits what is not committed yet, then assembles the object (or stores an empty one).
  private func storeObject(_ session: SessionRecord, parts: [PartRecord]) async throws(UploadError)
    -> StoredObject
  {
    guard let uploadID = session.storageUploadID else {
      do {
        try await spool.makeSessionDirectory(session.id)
        let empty = spool.sessionDirectory(session.id).appending("empty")
        try await FileSystem.shared.withFileHandle(
          forWritingAt: empty, options: .newFile(replaceExisting: true)) { _ in }
        return try await objectStore.putObject(
          key: session.key, part: SpooledPart(number: 1, path: empty.string, size: 0, sha256: .empty))
      } catch {
        throw UploadError.fromFileSystem(error, while: "storing the empty object \"\(session.key)\"")
      }
    }
    let committed = try await commitAll(session, parts: parts, uploadID: uploadID)
    return try await objectStore.completeUpload(
      key: session.key, uploadID: uploadID,
      parts: committed.map {
        CommittedPart(number: $0.number, etag: $0.etag ?? "", size: $0.size, sha256: $0.sha256 ?? .empty)
      })
  }

  /// Commits every received part, a few at a time; returns all parts, committed, in order.
  private func commitAll(_ session: SessionRecord, parts: [PartRecord], uploadID: String) async throws(UploadError)
    -> [PartRecord]
  {
    let pending = parts.filter { $0.state == .received }
    var done = Dictionary(uniqueKeysWithValues: parts.filter { $0.state == .committed }.map { ($0.number, $0) })
    do {
      try await withThrowingTaskGroup(of: PartRecord.self) { group in
        var inFlight = 0
        for part in pending {
          if inFlight == settings.maximumConcurrentCommits, let record = try await group.next() {
            done[record.number] = record
            inFlight -= 1
          }
          let slot = try slots.slot(for: session, number: part.number)
          group.addTask { try await slot.commit(to: self.objectStore, key: session.key, uploadID: uploadID) }
          inFlight += 1
        }
        for try await record in group { done[record.number] = record }
      }
    } catch {
      throw UploadError.fromFileSystem(error, while: "committing the parts of session \(session.id)")
    }
    return done.values.sorted { $0.number < $1.number }
  }
}
