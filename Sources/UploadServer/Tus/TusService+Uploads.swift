import NIOCore
import NIOHTTP1
import UploadCore

extension TusService {
  /// `POST`: creates the session, and appends the body if there is one (creation-with-upload).
  func create(_ request: HTTPRequest, owner: Principal) async throws(UploadError) -> HTTPResponse {
    let length: Int64?
    if let value = request.header("upload-length") {
      length = try Self.length(value, header: "Upload-Length")
    } else if request.header("upload-defer-length") == "1" {
      length = nil
    } else {
      throw UploadError(.invalidRequest, "a new upload needs Upload-Length, or Upload-Defer-Length: 1 when its length is not known yet")
    }
    guard request.header("upload-concat") == nil else {
      throw UploadError(.invalidRequest, "this server does not support the concatenation extension")
    }
    let metadata = try request.header("upload-metadata").map { header throws(UploadError) in
      try TusMetadata(header: header)
    } ?? TusMetadata(pairs: [:])
    if request.head.hasBody, let refusal = Self.wrongContentType(request) { return refusal }
    guard let key = metadata.objectKey else {
      throw UploadError(
        .invalidKey, "Upload-Metadata must name the object: give \"key\" (the object key) or \"filename\", in base64")
    }
    let session = try await sessions.create(
      .init(key: key, size: length, contentType: metadata.contentType, metadata: metadata.objectMetadata, origin: .tus),
      owner: owner)
    var response = HTTPResponse(.created)
    let host = request.header("host") ?? "localhost"
    response.headers.add(name: "location", value: "\(scheme)://\(host)\(Self.root)\(session.id)")
    if length == 0 {
      // Nothing to wait for: an empty upload is complete once created.
      _ = try await finish(session, owner: owner)
      response.headers.add(name: "upload-offset", value: "0")
    } else if request.head.hasBody {
      do throws(UploadError) {
        let offset = try await append(to: session, at: 0, request, owner: owner)
        response.headers.add(name: "upload-offset", value: String(offset))
      } catch {
        // The upload exists; its client continues from HEAD.
        logger.notice("tus creation-with-upload stopped", metadata: ["session": "\(session.id)", "error": "\(error)"])
        response.headers.add(name: "upload-offset", value: String((try? await offset(of: session)) ?? 0))
        response.closesConnection = !request.body.isEnded
      }
    }
    response.headers.add(name: "upload-expires", value: HTTPDate.format(millisecondsSince1970: session.expiresAt))
    return response
  }

  /// `HEAD`: the durable offset, the length and the metadata. An upload whose every byte is
  /// durable but whose object is not assembled yet (its completion failed) is completed here.
  func head(_ id: SessionID, owner: Principal) async throws(UploadError) -> HTTPResponse {
    var session = try await open(id, owner: owner)
    var offset = try await offset(of: session)
    if session.state != .completed, let size = session.plan.size, offset == size {
      (session, offset) = try await finish(session, owner: owner)
    }
    var response = HTTPResponse(.ok)
    response.headers.add(name: "upload-offset", value: String(offset))
    if let size = session.plan.size {
      response.headers.add(name: "upload-length", value: String(size))
    } else {
      response.headers.add(name: "upload-defer-length", value: "1")
    }
    var pairs = session.metadata
    pairs["key"] = session.key.rawValue
    if !session.contentType.isEmpty { pairs["filetype"] = session.contentType }
    response.headers.add(name: "upload-metadata", value: TusMetadata.header(pairs))
    if session.state != .completed {
      response.headers.add(name: "upload-expires", value: HTTPDate.format(millisecondsSince1970: session.expiresAt))
    }
    response.headers.add(name: "cache-control", value: "no-store")
    return response
  }

  /// `PATCH`: appends the body at `Upload-Offset`.
  func patch(_ id: SessionID, _ request: HTTPRequest, owner: Principal) async throws(UploadError) -> HTTPResponse {
    if let refusal = Self.wrongContentType(request) { return refusal }
    guard let value = request.header("upload-offset") else {
      throw UploadError(.invalidRequest, "a PATCH needs Upload-Offset")
    }
    let offset = try Self.length(value, header: "Upload-Offset")
    let session = try await open(id, owner: owner)
    let new = try await append(to: session, at: offset, request, owner: owner)
    let updated = try await sessions.session(id, owner: owner)
    var response = HTTPResponse(.noContent)
    response.headers.add(name: "upload-offset", value: String(new))
    if updated.state != .completed {
      response.headers.add(name: "upload-expires", value: HTTPDate.format(millisecondsSince1970: updated.expiresAt))
    }
    return response
  }

  /// `DELETE`: aborts the session (termination).
  func terminate(_ id: SessionID, owner: Principal) async throws(UploadError) -> HTTPResponse {
    let session = try await open(id, owner: owner)
    guard session.state != .completed else {
      throw UploadError(.sessionClosed, "upload \(id) is completed; its object stays")
    }
    _ = try await sessions.abort(id, owner: owner)
    return HTTPResponse(.noContent)
  }

  /// Appends a body at `offset` and returns the offset after it; the PATCH that reaches the
  /// length completes the object first.
  ///
  /// - Throws: `.offsetGap` (409) with the upload's offset when `offset` is not it;
  ///   `.objectTooLarge` (413) past the length; `.digestMismatch` (460) for a body that does not
  ///   match its `Upload-Checksum`, of which nothing is kept; the engine's errors.
  func append(to session: SessionRecord, at offset: Int64, _ request: HTTPRequest, owner: Principal)
    async throws(UploadError) -> Int64
  {
    let checksum = try request.header("upload-checksum").map { header throws(UploadError) in
      try TusChecksum(header: header)
    }
    let current = try await self.offset(of: session)
    guard offset == current else {
      throw UploadError(
        .offsetGap, "Upload-Offset is \(offset), but the upload's durable offset is \(current): continue from there (HEAD tells it)",
        expectedOffset: current)
    }
    let length = request.contentLength
    var endsAt = session.plan.size
    if let value = request.header("upload-length") {
      let declared = try Self.length(value, header: "Upload-Length")
      if let size = session.plan.size {
        guard declared == size else {
          throw UploadError(.invalidRequest, "Upload-Length is \(size) for this upload; it cannot change to \(declared)")
        }
      } else {
        guard let length, offset + length == declared else {
          throw UploadError(
            .invalidRequest,
            "a deferred Upload-Length must come with the PATCH that carries the last byte, with its Content-Length")
        }
        guard declared <= sessions.settings.maximumObjectSize else {
          throw UploadError(
            .objectTooLarge, "the upload is \(declared) bytes; this server accepts at most \(sessions.settings.maximumObjectSize)")
        }
        endsAt = declared
      }
    }
    if session.state == .completed {
      guard length ?? 0 == 0 else { throw UploadError(.objectTooLarge, "upload \(session.id) is complete; it takes no more bytes") }
      return current
    }
    if let endsAt, let length, offset + length > endsAt {
      throw UploadError(.objectTooLarge, "the body of \(length) bytes at \(offset) goes past the upload's length, \(endsAt) bytes")
    }
    let admission = try streamLimit.admit()
    defer { withExtendedLifetime(admission) {} }
    let counter = ByteCounter()
    if let checksum {
      let staged = try await ChecksummedBody.stage(request.body, checksum: checksum, spool: sessions.spool)
      defer { Task { await staged.remove() } }
      try await receive(session, offset: offset, endsAt: endsAt, counter: counter, read: staged.makeReader())
    } else {
      let body = request.body
      try await receive(session, offset: offset, endsAt: endsAt, counter: counter) {
        try await body.next()
      }
    }
    var new = offset + counter.count
    if let endsAt, new == endsAt {
      let refreshed = try await sessions.session(session.id, owner: owner)
      (_, new) = try await finish(refreshed, owner: owner)
    }
    return new
  }

  private func receive(
    _ session: SessionRecord, offset: Int64, endsAt: Int64?, counter: ByteCounter,
    read: @escaping () async throws -> ByteBuffer?
  ) async throws(UploadError) {
    let chunks = TusChunks(
      session: session, offset: offset, endsAt: endsAt, chunkSize: Self.chunkSize, read: read, counter: counter)
    try await receiver.receive(chunks, owner: Principal(unchecked: session.owner)) { _, _ in }
  }

  /// Completes a session whose every byte is durable, and returns it with its offset: its size,
  /// or lower when parts were lost on the way (their node died) and must come again.
  func finish(_ session: SessionRecord, owner: Principal) async throws(UploadError) -> (SessionRecord, Int64) {
    guard session.state != .completed else { return (session, session.plan.size ?? 0) }
    do throws(UploadError) {
      let parts = try await sessions.parts(of: session.id)
      let completed = try await sessions.complete(
        session.id, owner: owner, sha256: nil, partSHA256s: parts.compactMap(\.sha256))
      return (completed, completed.plan.size ?? 0)
    } catch where error.code == .partsMissing || error.code == .digestMismatch {
      let reopened = try await sessions.session(session.id, owner: owner)
      return (reopened, try await offset(of: reopened))
    }
  }

  /// The session, if `owner` owns it and it is not given up (410 then).
  private func open(_ id: SessionID, owner: Principal) async throws(UploadError) -> SessionRecord {
    let session = try await sessions.session(id, owner: owner)
    guard session.state != .aborted, session.state != .expired else {
      throw UploadError(.sessionClosed, "upload \(id) was \(session.state == .aborted ? "terminated" : "expired")")
    }
    return session
  }

  /// The durable offset: the bytes from the start whose parts are received, and the durable
  /// bytes of the first part still receiving when this node holds it. Bytes another node holds
  /// of a part it has not received whole cannot be continued here, so they do not count: a PATCH
  /// from there takes the part over and sends it from its start.
  func offset(of session: SessionRecord) async throws(UploadError) -> Int64 {
    if session.state == .completed { return session.plan.size ?? 0 }
    return Self.offset(of: try await sessions.parts(of: session.id), node: sessions.store.node)
  }

  static func offset(of parts: [PartRecord], node: String) -> Int64 {
    var byNumber: [Int: PartRecord] = [:]
    for part in parts { byNumber[part.number] = part }
    var offset: Int64 = 0
    var number = 1
    while let part = byNumber[number] {
      guard part.state == .receiving else {
        offset += part.size
        number += 1
        continue
      }
      if part.holderNode == nil || part.holderNode == node { offset += part.receivedBytes }
      break
    }
    return offset
  }

  static func length(_ value: String, header: String) throws(UploadError) -> Int64 {
    guard let length = Int64(value), length >= 0 else {
      throw UploadError(.invalidRequest, "\(header) must be a whole number of bytes; got \"\(value.prefix(32))\"")
    }
    return length
  }

  /// 415 for a body not sent as `application/offset+octet-stream`, as tus requires.
  static func wrongContentType(_ request: HTTPRequest) -> HTTPResponse? {
    guard request.header("content-type")?.lowercased() != "application/offset+octet-stream" else { return nil }
    return .text(.unsupportedMediaType, "a body must be sent as Content-Type: application/offset+octet-stream\n")
  }
}
