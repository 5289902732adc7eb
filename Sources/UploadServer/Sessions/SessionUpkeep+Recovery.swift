import NIOFileSystem
import UploadCore

extension SessionUpkeep {
  /// Reconciles the session store with the spool and the object store after a restart, for
  /// every open or completing session whose parts this node held:
  /// - a receiving part whose spool file is shorter than its recorded offset goes back to what
  ///   the file holds (bytes past the offset are truncated when the part is next written);
  /// - a received part whose spool file is missing or short is received again from 0;
  /// - a committed part the object store does not list is received again from 0;
  /// - a session with committed parts whose multipart upload is gone is marked aborted;
  /// - a session of the original contract is aborted: its stream died with the server, and its
  ///   client cannot resume.
  ///
  /// Received parts are then committed by `runCommitter`; the spool is cleared of what this
  /// node no longer holds (`sweepSpool`).
  public func recover() async throws(UploadError) {
    try await store.heartbeat(now: settings.nowMilliseconds)
    let alone = try await store.nodes(heartbeatSince: settings.millisecondsAgo(settings.nodeLapse)) == [store.node]
    for session in try await store.sessions(in: [.open, .completing]) {
      let parts = try await store.parts(of: session.id)
      // With several nodes on one database, a node recovers what it held: parts it was
      // receiving or had received (and parts no node claimed yet, or recorded before nodes were).
      let mine = parts.filter { $0.holderNode == store.node || $0.holderNode == nil }
      guard parts.contains(where: { $0.holderNode == store.node }) || mine.count == parts.count else { continue }
      if session.origin == .originalContract {
        // Its stream died with this node, unless other nodes are alive and the session is new
        // with no part claimed yet: that stream may be running on one of them.
        guard alone || parts.contains(where: { $0.holderNode == store.node })
          || session.updatedAt < settings.millisecondsAgo(settings.nodeLapse)
        else { continue }
        logger.notice("aborting a stream of the original contract cut by the restart", metadata: ["session": "\(session.id)"])
        _ = try await discard(session, as: .aborted)
        continue
      }
      var listed: [Int: [ListedPart]]?
      // Only committed parts need the object store's word (one ListParts per such session).
      if let uploadID = session.storageUploadID, mine.contains(where: { $0.state == .committed }) {
        do {
          listed = try await objectStore.listParts(key: session.key, uploadID: uploadID)
        } catch where error.code == .sessionClosed {
          logger.warning("session's multipart upload is gone; marking it aborted", metadata: ["session": "\(session.id)"])
          _ = try await discard(session, as: .aborted)
          continue
        }
      }
      for part in mine {
        let onDisk = try await spoolSize(session.id, part.number)
        let resetTo: Int64? =
          switch part.state {
          case .receiving where onDisk < part.receivedBytes: onDisk
          case .received where onDisk != part.size: 0
          case .committed where listed.map { $0[part.number] == nil } ?? false: 0
          // Recorded before parts had holders: this node's spool has the bytes, so it takes them.
          case .receiving where part.holderNode == nil && part.receivedBytes > 0: part.receivedBytes
          default: nil
          }
        if let resetTo {
          logger.warning(
            "part reset during recovery: the spool or the object store holds less than recorded",
            metadata: [
              "session": "\(session.id)", "part": "\(part.number)", "state": "\(part.state.rawValue)",
              "recorded": "\(part.receivedBytes)", "spool": "\(onDisk)", "from": "\(resetTo)",
            ])
          try await store.reset(part, to: resetTo)
        }
      }
    }
    await sweepSpool()
  }

  /// Commits received parts whose upload to the object store has not happened: after a
  /// restart, or after the object store failed while a stream was committing them. Frees their
  /// spool space, so a spool filled during an outage empties once the store is back.
  public func commitReceivedParts() async {
    guard let pending = try? await store.sessionsWithReceivedParts() else { return }
    for (session, numbers) in pending {
      guard session.storageUploadID != nil else { continue }
      let wanted = Set(numbers)
      guard let parts = try? await store.parts(of: session.id) else { return }
      for part in parts where wanted.contains(part.number) {
        let number = part.number
        do {
          _ = try await writers.commit(part, of: session)
        } catch {
          logger.warning(
            "could not commit a received part; trying again shortly",
            metadata: ["session": "\(session.id)", "part": "\(number)", "error": "\(error)"])
          return
        }
      }
    }
  }

  /// Runs `commitReceivedParts` at start and then every `commitRetryInterval`.
  func runCommitter() async {
    while !Task.isCancelled {
      await commitReceivedParts()
      try? await Task.sleep(for: settings.commitRetryInterval)
    }
  }

  /// Expires sessions idle past the TTL: aborts their multipart upload, deletes their spool and
  /// marks them expired. Returns the expired sessions.
  @discardableResult
  public func expireIdleSessions() async throws(UploadError) -> [SessionRecord] {
    var expired: [SessionRecord] = []
    for session in try await store.sessionsExpiring(before: settings.nowMilliseconds) {
      do {
        expired.append(try await discard(session, as: .expired))
      } catch {
        logger.warning(
          "could not expire a session; trying again at the next check",
          metadata: ["session": "\(session.id)", "error": "\(error)"])
      }
    }
    return expired
  }

  /// Expires idle sessions every `expiryCheckInterval` until cancelled.
  func runExpiry() async {
    while !Task.isCancelled {
      do {
        try await Task.sleep(for: settings.expiryCheckInterval)
        try await expireIdleSessions()
      } catch is CancellationError {
        return
      } catch {
        logger.warning("session expiry failed; trying again at the next check", metadata: ["error": "\(error)"])
      }
    }
  }

  private func spoolSize(_ session: SessionID, _ number: Int) async throws(UploadError) -> Int64 {
    do {
      return try await spool.sizeOfPart(session: session, number: number)
    } catch {
      throw UploadError.fromFileSystem(error, while: "reading the spool of session \(session)")
    }
  }
}
