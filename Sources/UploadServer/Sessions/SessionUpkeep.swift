import Logging
import UploadCore

/// The engine's background work, one job apart from the session API and receiving: recovery at
/// start, then, until the server stops, committing received parts the streams left, expiring
/// idle sessions, this node's heartbeat and the spool sweep, and retrying aborts of multipart
/// uploads. Where it gives a session up it goes through the session API
/// (`SessionCoordinator.discard`), so a session is closed one way whoever closes it.
public struct SessionUpkeep: Sendable {
  /// The engine it keeps.
  let sessions: SessionCoordinator

  /// Upkeep of `sessions`.
  public init(sessions: SessionCoordinator) {
    self.sessions = sessions
  }

  /// Runs every loop until the task is cancelled.
  public func run() async {
    await withDiscardingTaskGroup { group in
      group.addTask { await sessions.aborts.run() }
      group.addTask { await runCommitter() }
      group.addTask { await runExpiry() }
      group.addTask { await runHeartbeat() }
    }
  }

  var store: any SessionStore { sessions.store }
  var objectStore: any ObjectStore { sessions.objectStore }
  var spool: Spool { sessions.spool }
  var settings: SessionSettings { sessions.settings }
  var writers: PartWriters { sessions.writers }
  var logger: Logger { sessions.logger }

  func discard(_ session: SessionRecord, as state: SessionState) async throws(UploadError) -> SessionRecord {
    try await sessions.discard(session, as: state)
  }
}
