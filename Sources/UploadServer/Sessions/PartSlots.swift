import NIOFileSystem
import Synchronization
import UploadCore

/// The slots of the parts being worked on, by session and part number.
final class PartSlots: Sendable {
  private struct Key: Hashable {
    var session: SessionID
    var number: Int
  }

  private let slots = Mutex<(byKey: [Key: PartSlot], shutDown: Bool)>(([:], false))
  private let spool: Spool
  private let store: any SessionStore
  private let objectStore: any ObjectStore
  private let forwardingPlaces: ForwardingPlaces?
  private let settings: SessionSettings
  private let metrics: ServerMetrics

  init(spool: Spool, store: any SessionStore, objectStore: any ObjectStore, settings: SessionSettings,
    metrics: ServerMetrics)
  {
    self.metrics = metrics
    self.spool = spool
    self.store = store
    self.objectStore = objectStore
    self.forwardingPlaces =
      objectStore.uploadsGrowingParts && settings.maximumForwardedParts > 0
      ? ForwardingPlaces(settings.maximumForwardedParts) : nil
    self.settings = settings
  }

  /// The slot of part `number` of `session`, created on first use.
  ///
  /// - Throws: `.storageUnavailable` once the server is stopping.
  func slot(for session: SessionRecord, number: Int) throws(UploadError) -> PartSlot {
    let key = Key(session: session.id, number: number)
    let slot = slots.withLock { slots -> PartSlot? in
      if let slot = slots.byKey[key] { return slot }
      guard !slots.shutDown else { return nil }
      var forwarder: PartForwarder?
      if let places = forwardingPlaces, let uploadID = session.storageUploadID {
        forwarder = PartForwarder(store: objectStore, key: session.key, uploadID: uploadID, places: places)
      }
      let slot = PartSlot(
        sessionID: session.id, number: number, size: session.plan.size(ofPart: number),
        path: spool.partFile(session: session.id, number: number), store: store, settings: settings,
        metrics: metrics, budget: spool.budget, forwarder: forwarder)
      slots.byKey[key] = slot
      return slot
    }
    guard let slot else { throw UploadError(.storageUnavailable, "the server is shutting down; try again") }
    return slot
  }

  /// Closes and forgets every slot, and makes no new ones (the server is stopping).
  func closeAll() async {
    let closing = slots.withLock { slots in
      defer {
        slots.byKey.removeAll()
        slots.shutDown = true
      }
      return Array(slots.byKey.values)
    }
    for slot in closing { await slot.close() }
  }

  /// Closes and forgets every slot of `session`, waiting for writes in progress.
  func close(_ session: SessionID) async {
    let closing = slots.withLock { slots in
      let matching = slots.byKey.filter { $0.key.session == session }
      for key in matching.keys { slots.byKey[key] = nil }
      return Array(matching.values)
    }
    for slot in closing { await slot.close() }
  }
}
