import Foundation
import GRPCCore
import NIOCore
import NIOFoundationCompat
import UploadCore
import UploadProtocol

/// `uploader.v1.ResumableUploads`: translates between the wire and the engine (`SessionCoordinator`,
/// `SessionReceiver` for streams of parts, `WholeObjectReceiver` for objects in one step).
struct ResumableUploadsService: Uploader_V1_ResumableUploads.SimpleServiceProtocol {
  let coordinator: SessionCoordinator
  let receiver: SessionReceiver
  let metrics: ServerMetrics
  var wholeObjects: WholeObjectReceiver { WholeObjectReceiver(sessions: coordinator) }

  func createSession(request: Uploader_V1_CreateSessionRequest, context: ServerContext) async throws
    -> Uploader_V1_Session
  {
    let session = try await coordinator.create(try Self.createRequest(request), owner: Caller.principal)
    return wire(session, parts: try await coordinator.parts(of: session.id))
  }

  func uploadObject(request: Uploader_V1_UploadObjectRequest, context: ServerContext) async throws
    -> Uploader_V1_CompleteSessionResponse
  {
    let object = try Self.wholeObject(request)
    let session = try await wholeObjects.uploadObject(
      object.request, bytes: object.bytes, sha256: object.sha256, verify: object.verify, owner: Caller.principal)
    return .with { $0.session = wire(session) }
  }

  func uploadObjects(request: Uploader_V1_UploadObjectsRequest, context: ServerContext) async throws
    -> Uploader_V1_UploadObjectsResponse
  {
    try WholeObjectReceiver.checkObjectCount(request.objects.count)
    var results = [Uploader_V1_UploadObjectResult](repeating: .init(), count: request.objects.count)
    var objects: [(index: Int, object: WholeObjectReceiver.Object)] = []
    for (index, object) in request.objects.enumerated() {
      do {
        objects.append((index, try Self.wholeObject(object)))
      } catch {
        results[index].error = Self.objectError(error)
      }
    }
    if !objects.isEmpty {
      let outcomes = try await wholeObjects.uploadObjects(objects.map(\.object), owner: Caller.principal)
      for ((index, _), outcome) in zip(objects, outcomes) {
        switch outcome {
        case .success(let session): results[index].session = wire(session)
        case .failure(let error): results[index].error = Self.objectError(error)
        }
      }
    }
    return .with { $0.results = results }
  }

  /// The engine's whole object for a wire one.
  private static func wholeObject(_ request: Uploader_V1_UploadObjectRequest) throws(UploadError)
    -> WholeObjectReceiver.Object
  {
    if request.session.sizeUnknown {
      throw UploadError(.invalidRequest, "size_unknown is set: UploadObject stores an object of known size")
    }
    guard let sha256 = ContentHash(bytes: Array(request.sha256)) else {
      throw UploadError(.invalidRequest, "sha256 must be the 32-byte SHA-256 of the data")
    }
    return .init(try createRequest(request.session), bytes: ByteBuffer(data: request.data), sha256: sha256, verify: request.verify)
  }

  /// One object's failure, as UploadObject would have failed with it.
  private static func objectError(_ error: UploadError) -> Uploader_V1_ObjectError {
    .with {
      $0.status = Int32(error.rpcErrorCode.rawValue)
      $0.code = error.code.rawValue
      $0.message = error.message
    }
  }

  /// The engine's request for a wire one, with the checks the wire's types need.
  private static func createRequest(_ request: Uploader_V1_CreateSessionRequest) throws(UploadError)
    -> SessionCoordinator.CreateRequest
  {
    guard request.size <= UInt64(Int64.max), request.partSize <= UInt64(Int64.max) else {
      throw UploadError(.objectTooLarge, "the size \(request.size) is not a possible object size")
    }
    if request.sizeUnknown && request.size != 0 {
      throw UploadError(.invalidRequest, "size_unknown is set with a size of \(request.size); send one or the other")
    }
    return .init(
      key: request.key, size: request.sizeUnknown ? nil : Int64(request.size), partSize: Int64(request.partSize),
      contentType: request.contentType, metadata: request.metadata, idempotencyKey: request.idempotencyKey)
  }

  func uploadParts(
    request: RPCAsyncSequence<Uploader_V1_PartChunk, any Error>,
    response: RPCWriter<Uploader_V1_UploadEvent>,
    context: ServerContext
  ) async throws {
    metrics.activeStreams.increment()
    defer { metrics.activeStreams.decrement() }
    let chunks = RequestMessages(base: request).map { chunk in
      SessionReceiver.Chunk(
        sessionID: chunk.sessionID, partNumber: Int(clamping: chunk.partNumber), offset: Int64(clamping: chunk.offset),
        data: chunk.data, last: chunk.last, partSHA256: chunk.partSha256, endsObject: chunk.endsObject)
    }
    try await receiver.receive(chunks, owner: Caller.principal) { event, credit in
      try await response.write(Uploader_V1_UploadEvent(event, creditBytes: credit))
    }
  }

  func getSession(request: Uploader_V1_GetSessionRequest, context: ServerContext) async throws -> Uploader_V1_Session {
    let id = try SessionID(validating: request.sessionID)
    let session = try await coordinator.session(id, owner: Caller.principal)
    return wire(session, parts: try await coordinator.parts(of: id))
  }

  func listSessions(request: Uploader_V1_ListSessionsRequest, context: ServerContext) async throws
    -> Uploader_V1_ListSessionsResponse
  {
    let limit = request.pageSize == 0 ? 100 : Int(min(request.pageSize, 1_000))
    let cursor = try PageToken.decode(request.pageToken)
    let page = try await coordinator.list(owner: Caller.principal, after: cursor, limit: limit)
    return .with {
      $0.sessions = page.sessions.map { wire($0) }
      $0.nextPageToken = page.next.map(PageToken.encode) ?? ""
    }
  }

  func completeSession(request: Uploader_V1_CompleteSessionRequest, context: ServerContext) async throws
    -> Uploader_V1_CompleteSessionResponse
  {
    let id = try SessionID(validating: request.sessionID)
    guard let sha256 = ContentHash(bytes: Array(request.sha256)) else {
      throw UploadError(.invalidRequest, "sha256 must be the 32-byte SHA-256 of the whole file")
    }
    var digests: [ContentHash] = []
    for (index, bytes) in request.partSha256S.enumerated() {
      guard let digest = ContentHash(bytes: Array(bytes)) else {
        throw UploadError(.invalidRequest, "part_sha256s[\(index)] is not a 32-byte SHA-256")
      }
      digests.append(digest)
    }
    let session = try await coordinator.complete(
      id, owner: Caller.principal, sha256: sha256, partSHA256s: digests, verify: request.verify)
    return .with { $0.session = wire(session) }
  }

  func verifySession(request: Uploader_V1_VerifySessionRequest, context: ServerContext) async throws
    -> Uploader_V1_Session
  {
    wire(try await coordinator.verify(try SessionID(validating: request.sessionID), owner: Caller.principal))
  }

  func abortSession(request: Uploader_V1_AbortSessionRequest, context: ServerContext) async throws
    -> Uploader_V1_AbortSessionResponse
  {
    let session = try await coordinator.abort(try SessionID(validating: request.sessionID), owner: Caller.principal)
    return .with { $0.session = wire(session) }
  }

  private func wire(_ session: SessionRecord, parts: [PartRecord] = []) -> Uploader_V1_Session {
    Uploader_V1_Session(session, parts: parts, settings: coordinator.settings)
  }
}
