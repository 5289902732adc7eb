import UploadCore

extension SessionUpkeep {
  /// Records this node's heartbeat and resets the parts of nodes whose heartbeat lapsed, every
  /// `heartbeatInterval`; every few beats, clears the spool of what this node no longer holds.
  func runHeartbeat() async {
    var beats = 0
    while !Task.isCancelled {
      await beat()
      beats += 1
      if beats % 5 == 0 { await sweepSpool() }
      try? await Task.sleep(for: settings.heartbeatInterval)
    }
  }

  /// One heartbeat, and the reset of what lapsed nodes held.
  func beat() async {
    do {
      try await store.heartbeat(now: settings.nowMilliseconds)
      let reset = try await store.resetPartsOfLapsedNodes(lapsedBefore: settings.millisecondsAgo(settings.nodeLapse))
      for part in reset {
        logger.warning(
          "part reset: its node stopped beating; any node may receive it again",
          metadata: [
            "session": "\(part.sessionID)", "part": "\(part.number)", "node": "\(part.holderNode ?? "")",
            "state": "\(part.state.rawValue)", "received": "\(part.receivedBytes)",
          ])
      }
      // A stream of the original contract cannot come back to another node: give it up.
      for id in Set(reset.map(\.sessionID)) {
        if let session = try await store.session(id), session.origin == .originalContract,
          session.state.acceptsParts
        {
          _ = try await discard(session, as: .aborted)
        }
      }
    } catch {
      logger.warning("heartbeat failed; trying again", metadata: ["node": "\(store.node)", "error": "\(error)"])
    }
  }

  /// Deletes what the spool holds for sessions that are closed or gone and for parts this node
  /// no longer holds (taken over by another node, or committed), and closes their writers.
  func sweepSpool() async {
    for id in Set(await spool.sessionsOnDisk()).union(writers.sessions) {
      let session: SessionRecord?
      do {
        session = try await store.session(id)
      } catch {
        return
      }
      guard let session, session.state.acceptsParts || session.state == .completing else {
        await writers.close(id)
        await spool.remove(spool.sessionDirectory(id))
        continue
      }
      for number in await spool.partsOnDisk(id) {
        guard let writer = try? writers.writer(for: session, number: number) else { return }
        if await writer.dropIfHeldElsewhere(node: store.node) {
          logger.debug("spool file dropped: the part is not this node's", metadata: ["session": "\(id)", "part": "\(number)"])
        }
      }
    }
  }
}
