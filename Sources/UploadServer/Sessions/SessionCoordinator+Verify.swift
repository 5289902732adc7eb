import UploadCore

extension SessionCoordinator {
  /// Reads a completed session's object back from the store, records the SHA-256 of its bytes
  /// (`verifiedSHA256`) and, when it is the client's, stamps the object with it (`sha256` in its
  /// metadata). An object whose bytes differ is left as it is and never claims the digest. A
  /// session whose client gave no digest (tus) takes the one read back as its own.
  /// Verifying again reads the object again.
  ///
  /// - Throws: `.sessionNotFound`; `.sessionClosed` when the session is not completed;
  ///   `.digestMismatch` when the object's bytes are not the ones the client described;
  ///   `.objectMissing` when the object is gone; `.storageUnavailable`.
  public func verify(_ id: SessionID, owner: Principal) async throws(UploadError) -> SessionRecord {
    let session = try await session(id, owner: owner)
    guard session.state == .completed else {
      throw UploadError(
        .sessionClosed, "session \(id) is \(session.state.rawValue); only a completed session's object can be verified")
    }
    return try await verify(session)
  }

  func verify(_ session: SessionRecord) async throws(UploadError) -> SessionRecord {
    let digest = try await objectStore.digest(ofObject: session.key)
    var verified = session
    verified.verifiedSHA256 = digest.sha256
    if verified.sha256 == nil { verified.sha256 = digest.sha256 }
    verified.updatedAt = settings.nowMilliseconds
    if digest.sha256 == verified.sha256 {
      // The stamp first: a crash before the record leaves a true stamp and a session that is
      // verified again; the other order could record a verdict the object does not show.
      if let etag = try await objectStore.replaceAttributes(
        key: session.key, size: digest.size, attributes: verified.objectAttributes)
      {
        verified.etag = etag
      }
    }
    try await store.update(verified)
    logger.info(
      digest.sha256 == verified.sha256 ? "object verified" : "object does not match its session",
      metadata: [
        "session": "\(session.id)", "key": "\(session.key)", "sha256": "\(digest.sha256)", "size": "\(digest.size)",
      ])
    try Self.checkVerdict(verified)
    return verified
  }

  /// Throws `.digestMismatch` for a session whose object was read back and found different.
  static func checkVerdict(_ session: SessionRecord) throws(UploadError) {
    guard let verified = session.verifiedSHA256, verified != session.sha256 else { return }
    throw UploadError(
      .digestMismatch,
      "the object \"\(session.key)\" of session \(session.id) was read back with SHA-256 \(verified.hex), not the \(session.sha256?.hex ?? "none") its client sent; the object does not carry a digest. Upload the file again")
  }
}
