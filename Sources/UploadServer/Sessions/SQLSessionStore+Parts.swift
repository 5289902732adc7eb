import UploadCore

extension SQLSessionStore {
  public func parts(of id: SessionID) async throws(UploadError) -> [PartRecord] {
    try await database.read(SessionCatalogue.parts(of: id)).map(SessionRows.part(from:))
  }

  public func part(of id: SessionID, number: Int) async throws(UploadError) -> PartRecord? {
    try await database.read(SessionCatalogue.part(of: id, number: number)).first.map(SessionRows.part(from:))
  }

  public func claim(_ id: SessionID, number: Int, size: Int64, now: Int64) async throws(UploadError) -> PartRecord {
    // A part past the end of a session whose size is fixed gets no row, even from a stream that
    // has not heard of the end yet.
    guard let row = try await database.write(SessionCatalogue.claim(id, number: number, size: size, now: now, node: node)).first
    else {
      throw UploadError(.invalidRequest, "session \(id) has no part \(number): the object ended before it")
    }
    return try SessionRows.part(from: row)
  }

  public func update(_ part: PartRecord, sessionUpdatedAt: Int64, expiresAt: Int64, endingObject: Int64?)
    async throws(UploadError)
  {
    let id = part.sessionID
    try await database.transaction { run in
      guard try await !run(SessionCatalogue.update(part)).isEmpty else {
        throw UploadError(.partTakenOver, "part \(part.number) of session \(id) was taken over by a newer stream")
      }
      if let size = endingObject {
        if let later = try await run(SessionCatalogue.firstPartWithBytes(of: id, after: part.number)).first?
          .optionalInteger("n")
        {
          throw UploadError(
            .invalidRequest, "part \(part.number) of session \(id) cannot end the object: part \(later) already holds bytes")
        }
        let partCount = size == 0 ? 0 : part.number
        try await run(SessionCatalogue.dropParts(of: id, after: partCount))
        try await run(SessionCatalogue.fixSize(id, size: size, partCount: partCount))
      }
      try await run(SessionCatalogue.touch(id, updatedAt: sessionUpdatedAt, expiresAt: expiresAt))
    }
  }

  public func commit(_ id: SessionID, number: Int, etag: String, now: Int64) async throws(UploadError) -> PartRecord? {
    if let row = try await database.write(SessionCatalogue.commit(id, number: number, etag: etag, now: now)).first {
      return try SessionRows.part(from: row)
    }
    return try await part(of: id, number: number)
  }

  public func reset(_ part: PartRecord, to receivedBytes: Int64) async throws(UploadError) {
    _ = try await database.write(SessionCatalogue.reset(part, to: receivedBytes, node: node))
  }

  // MARK: - Notifications

  public func takeDueNotifications(now: Int64, leaseUntil: Int64, limit: Int) async throws(UploadError)
    -> [QueuedNotification]
  {
    try await database.write(SessionCatalogue.takeDueNotifications(now: now, leaseUntil: leaseUntil, limit: limit))
      .map(SessionRows.notification(from:)).sorted { $0.occurredAt < $1.occurredAt }
  }

  public func finishNotification(_ id: String, delivered: Bool, retryAt: Int64, error: String?) async throws(UploadError) {
    _ = try await database.write(
      delivered
        ? SessionCatalogue.deleteNotification(id) : SessionCatalogue.retryNotification(id, at: retryAt, error: error))
  }

  public func queuedNotificationCount() async throws(UploadError) -> Int {
    Int(try await database.read(SessionCatalogue.queuedNotificationCount).first?.integer("n") ?? 0)
  }
}
