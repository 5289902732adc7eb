import Logging
import Synchronization
import UploadCore

/// Puts a completing session's object together in the object store, one job of the session
/// engine: commits the received parts this node holds, waits for the ones other nodes hold,
/// checks the committed parts against the store's own listing (a part the store lost is reset,
/// to be received again), then completes the multipart upload; or stores the empty object.
struct ObjectAssembler: Sendable {
  let store: any SessionStore
  let objectStore: any ObjectStore
  let spool: Spool
  let writers: PartWriters
  let settings: SessionSettings
  let logger: Logger

  /// Commits what is not committed yet, then assembles the object (or stores an empty one).
  func assemble(_ session: SessionRecord, parts: [PartRecord]) async throws(UploadError)
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
