import Testing
import UploadCore
import UploadServer

/// The notification outbox, in every store: queued with the state change, taken under a lease,
/// retried, and gone once delivered.
extension SessionStoreConformanceTests {
  @Test(arguments: Backing.enabled)
  func eventsAreQueuedWithTheirStateChangeOnce(_ backing: Backing) async throws {
    try await withStore(backing) { store in
      var completed = try session(1)
      _ = try await store.create(completed, parts: [])
      _ = try await store.create(try session(2), parts: [])
      _ = try await store.create(try session(3), parts: [])
      completed.state = .completed
      completed.updatedAt = 2_000
      try await store.update(completed, notify: true)
      try await store.update(completed, notify: true)  // queued once: same id
      _ = try await store.close(try session(2).id, as: .aborted, now: 2_100, notify: true)
      _ = try await store.close(try session(2).id, as: .expired, now: 2_200, notify: true)  // not open: no change
      _ = try await store.close(try session(3).id, as: .expired, now: 2_300, notify: false)
      #expect(try await store.queuedNotificationCount() == 2)

      let due = try await store.takeDueNotifications(now: 3_000, leaseUntil: 9_000, limit: 10)
      #expect(due.map(\.id) == [NotificationOutbox.eventID(completed.id, .completed), NotificationOutbox.eventID(try session(2).id, .aborted)])
      #expect(due.map(\.type) == [.completed, .aborted])
      #expect(due.map(\.occurredAt) == [2_000, 2_100])
      #expect(try await store.takeDueNotifications(now: 3_000, leaseUntil: 9_000, limit: 10).isEmpty, "leased")
    }
  }

  @Test(arguments: Backing.enabled)
  func aFailedDeliveryIsDueAgainLaterAndADeliveredOneIsGone(_ backing: Backing) async throws {
    try await withStore(backing) { store in
      var record = try session(1)
      _ = try await store.create(record, parts: [])
      record.state = .completed
      try await store.update(record, notify: true)
      let event = try #require(try await store.takeDueNotifications(now: 1_000, leaseUntil: 5_000, limit: 1).first)

      try await store.finishNotification(event.id, delivered: false, retryAt: 4_000, error: "HTTP 503")
      #expect(try await store.takeDueNotifications(now: 3_999, leaseUntil: 9_000, limit: 1).isEmpty)
      let again = try #require(try await store.takeDueNotifications(now: 4_000, leaseUntil: 9_000, limit: 1).first)
      #expect(again.id == event.id && again.attempts == 1)

      try await store.finishNotification(event.id, delivered: true, retryAt: 0, error: nil)
      #expect(try await store.queuedNotificationCount() == 0)
      #expect(try await store.takeDueNotifications(now: 99_000, leaseUntil: 100_000, limit: 1).isEmpty)
    }
  }

  /// Two replicas taking due events never both get one: at once in PostgreSQL, one after the
  /// other in SQLite (one node's database: two handles would only wait for each other's lock).
  @Test(arguments: Backing.enabled)
  func twoNodesNeverTakeTheSameEvent(_ backing: Backing) async throws {
    try await withTwoNodes(backing) { a, b in
      for n in 1...20 {
        var record = try session(n)
        _ = try await a.create(record, parts: [])
        record.state = .completed
        try await a.update(record, notify: true)
      }
      let (x, y): ([QueuedNotification], [QueuedNotification])
      if backing == .postgres {
        async let takenByA = a.takeDueNotifications(now: 5_000, leaseUntil: 60_000, limit: 15)
        async let takenByB = b.takeDueNotifications(now: 5_000, leaseUntil: 60_000, limit: 15)
        (x, y) = try await (takenByA, takenByB)
      } else {
        (x, y) = (
          try await a.takeDueNotifications(now: 5_000, leaseUntil: 60_000, limit: 15),
          try await b.takeDueNotifications(now: 5_000, leaseUntil: 60_000, limit: 15)
        )
      }
      #expect(Set(x.map(\.id)).isDisjoint(with: y.map(\.id)))
      #expect(x.count + y.count == 20)
    }
  }
}
