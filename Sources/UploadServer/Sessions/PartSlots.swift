import NIOFileSystem
import Synchronization
import UploadCore

/// The slots of the parts being worked on, by session and part number.
final class PartSlots: Sendable {
  private struct Key: Hashable {
    var session: SessionID
    var number: Int
  }

  private let slots = Mutex<[Key: PartSlot]>([:])
  private let spool: Spool
  private let store: any SessionStore
  private let settings: SessionSettings

  init(spool: Spool, store: any SessionStore, settings: SessionSettings) {
    self.spool = spool
    self.store = store
    self.settings = settings
  }

  /// The slot of part `number` of `session`, created on first use.
  func slot(for session: SessionRecord, number: Int) -> PartSlot {
    let key = Key(session: session.id, number: number)
    return slots.withLock { slots in
      if let slot = slots[key] { return slot }
      let slot = PartSlot(
        sessionID: session.id, number: number, size: session.plan.size(ofPart: number),
        path: spool.partFile(session: session.id, number: number), store: store, settings: settings)
      slots[key] = slot
      return slot
    }
  }

  /// Closes and forgets every slot of `session`, waiting for writes in progress.
  func close(_ session: SessionID) async {
    let closing = slots.withLock { slots in
      let matching = slots.filter { $0.key.session == session }
      for key in matching.keys { slots[key] = nil }
      return Array(matching.values)
    }
    for slot in closing { await slot.close() }
  }
}
