import NIOFileSystem
import Synchronization
import UploadCore

/// The writers of the parts being received, by session and part number, and the committer that
/// puts received parts into the object store.
final class PartWriters: Sendable {
  private struct Key: Hashable {
    var session: SessionID
    var number: Int
  }

  private let writers = Mutex<(byKey: [Key: PartWriter], shutDown: Bool)>(([:], false))
  private let spool: Spool
  private let store: any SessionStore
  private let objectStore: any ObjectStore
  private let forwardingPlaces: ForwardingPlaces?
  private let settings: SessionSettings
  private let metrics: ServerMetrics
  let committer: PartCommitter

  init(spool: Spool, store: any SessionStore, objectStore: any ObjectStore, settings: SessionSettings,
    metrics: ServerMetrics)
  {
    self.metrics = metrics
    self.spool = spool
    self.store = store
    self.objectStore = objectStore
    self.forwardingPlaces =
      objectStore.growingParts != nil && settings.maximumForwardedParts > 0
      ? ForwardingPlaces(settings.maximumForwardedParts) : nil
    self.settings = settings
    self.committer = PartCommitter(store: store, objectStore: objectStore, spool: spool, settings: settings)
  }

  /// The writer of part `number` of `session`, created on first use.
  ///
  /// - Throws: `.storageUnavailable` once the server is stopping.
  func writer(for session: SessionRecord, number: Int) throws(UploadError) -> PartWriter {
    let key = Key(session: session.id, number: number)
    let writer = writers.withLock { writers -> PartWriter? in
      if let writer = writers.byKey[key] { return writer }
      guard !writers.shutDown else { return nil }
      var forwarder: PartForwarder?
      if let places = forwardingPlaces, let growing = objectStore.growingParts, let uploadID = session.storageUploadID {
        forwarder = PartForwarder(store: growing, key: session.key, uploadID: uploadID, places: places)
      }
      let writer = PartWriter(
        sessionID: session.id, number: number, plan: session.plan,
        spool: spool, store: store, settings: settings, metrics: metrics, forwarder: forwarder,
        storeVerifiesDigests: objectStore.verifiesDigests && !settings.verifiesOnReceipt)
      writers.byKey[key] = writer
      return writer
    }
    guard let writer else { throw UploadError(.storageUnavailable, "the server is shutting down; try again") }
    return writer
  }

  /// Commits a received part of `session`, with its forward's ETag when one finished.
  func commit(_ part: PartRecord, of session: SessionRecord) async throws(UploadError) -> PartRecord {
    let writer = writers.withLock { $0.byKey[Key(session: session.id, number: part.number)] }
    let forward = await writer?.takeForward()
    return try await committer.commit(part, of: session, forward: forward)
  }

  /// Closes and forgets every writer, makes no new ones and stops commits in flight (the server
  /// is stopping).
  func closeAll() async {
    let closing = writers.withLock { writers in
      defer {
        writers.byKey.removeAll()
        writers.shutDown = true
      }
      return Array(writers.byKey.values)
    }
    committer.cancelAll()
    for writer in closing { await writer.close() }
  }

  /// The sessions that have writers here.
  var sessions: Set<SessionID> {
    writers.withLock { Set($0.byKey.keys.map(\.session)) }
  }

  /// Closes and forgets every writer of `session`, waiting for writes in progress.
  func close(_ session: SessionID) async {
    let closing = writers.withLock { writers in
      let matching = writers.byKey.filter { $0.key.session == session }
      for key in matching.keys { writers.byKey[key] = nil }
      return Array(matching.values)
    }
    for writer in closing { await writer.close() }
    committer.forget(session)
  }
}
