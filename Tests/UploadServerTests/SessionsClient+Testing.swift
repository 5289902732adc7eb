import Foundation
import GRPCCore
import Synchronization
import TestSupport
import Testing
import UploadCore
import UploadProtocol

/// A file being uploaded through a session, cut into the session's parts.
struct TestFile {
  let bytes: [UInt8]
  let partSize: Int

  var partCount: Int { (bytes.count + partSize - 1) / partSize }

  func part(_ number: Int) -> ArraySlice<UInt8> {
    bytes[((number - 1) * partSize)..<min(number * partSize, bytes.count)]
  }

  func digest(ofPart number: Int) -> ContentHash { ContentHash.of(Array(part(number))) }

  var partDigests: [Data] { (1...max(partCount, 1)).prefix(partCount).map { Data(digest(ofPart: $0).bytes) } }
}

/// What a stream sent and received.
final class StreamLog: Sendable {
  private let state = Mutex<(sent: Int, events: [Uploader_V1_UploadEvent])>((0, []))

  var bytesSent: Int { state.withLock { $0.sent } }
  var events: [Uploader_V1_UploadEvent] { state.withLock { $0.events } }

  func sent(_ count: Int) { state.withLock { $0.sent += count } }
  func received(_ event: Uploader_V1_UploadEvent) { state.withLock { $0.events.append(event) } }

  /// The highest acknowledged offset of `part`.
  func acknowledged(part: Int) -> UInt64 {
    events.compactMap { event -> UInt64? in
      guard case .progress(let progress)? = event.event, progress.partNumber == part else { return nil }
      return progress.receivedBytes
    }.max() ?? 0
  }

  /// Parts reported committed.
  var committedParts: Set<Int> {
    Set(events.compactMap { event -> Int? in
      guard case .committed(let committed)? = event.event else { return nil }
      return Int(committed.partNumber)
    })
  }
}

/// One chunk to send.
struct ChunkPlan {
  var part: Int
  var offset: Int
  var length: Int
  var digest: Data = Data()
  var corrupt = false
}

extension SessionsClient {
  func create(
    _ file: TestFile, key: String, idempotencyKey: String = "", contentType: String = "", metadata: [String: String] = [:]
  ) async throws -> Uploader_V1_Session {
    try await createSession(.with {
      $0.key = key
      $0.size = UInt64(file.bytes.count)
      $0.partSize = UInt64(file.partSize)
      $0.idempotencyKey = idempotencyKey
      $0.contentType = contentType
      $0.metadata = metadata
    })
  }

  /// Every chunk of every part of `file`, in order.
  static func allChunks(of file: TestFile) -> [ChunkPlan] {
    (1...file.partCount).flatMap { chunks(of: file, part: $0) }
  }

  /// Sends `chunks` of `file` on one stream; `stopAfter` fails the stream after that many
  /// chunks (the client dies), `pauseAfter` waits for `resume` before sending the rest.
  func stream(
    _ file: TestFile, session: String, chunks: [ChunkPlan], log: StreamLog = StreamLog(), stopAfter: Int? = nil,
    waitAfter: Int? = nil, resume: (@Sendable () async throws -> Void)? = nil
  ) async throws {
    try await uploadParts(requestProducer: { writer in
      for (index, plan) in chunks.enumerated() {
        if let stopAfter, index == stopAfter { throw ProducerGaveUp() }
        if let waitAfter, index == waitAfter, let resume { try await resume() }
        let start = (plan.part - 1) * file.partSize + plan.offset
        var data = Data(file.bytes[start..<(start + plan.length)])
        if plan.corrupt { data[data.startIndex] ^= 0xff }
        try await writer.write(.with {
          $0.sessionID = session
          $0.partNumber = UInt32(plan.part)
          $0.offset = UInt64(plan.offset)
          $0.data = data
          $0.partSha256 = plan.digest
          $0.last = plan.offset + plan.length == file.part(plan.part).count
        })
        log.sent(plan.length)
      }
    }, onResponse: { response in
      for try await event in response.messages { log.received(event) }
    })
  }

  /// Sends the first `count` chunks of `part`, waits until at least `acknowledged` bytes of it
  /// are acknowledged, then dies as a client does (the stream fails); returns what it sent and
  /// received.
  func sendThenDie(_ file: TestFile, session: String, part: Int, chunks count: Int, acknowledged: UInt64)
    async throws -> StreamLog
  {
    let log = StreamLog()
    await #expect(throws: (any Error).self) {
      try await stream(
        file, session: session, chunks: Self.chunks(of: file, part: part), log: log, waitAfter: count,
        resume: {
          let seen = try await eventually(seconds: 30) { log.acknowledged(part: part) >= acknowledged }
          #expect(seen, "\(acknowledged) bytes of part \(part) were never acknowledged")
          throw ProducerGaveUp()
        })
    }
    return log
  }

  /// Chunks covering `part` from `from`, `chunkSize` at a time, the digest on the first.
  static func chunks(of file: TestFile, part: Int, from: Int = 0, chunkSize: Int = 256 << 10) -> [ChunkPlan] {
    let size = file.part(part).count
    return stride(from: from, to: size, by: chunkSize).enumerated().map { index, offset in
      ChunkPlan(
        part: part, offset: offset, length: min(chunkSize, size - offset),
        digest: index == 0 ? Data(file.digest(ofPart: part).bytes) : Data())
    }
  }

  /// Completes with `file`'s digests, or with `sha256` in place of the whole file's.
  func complete(_ file: TestFile, session: String, sha256: ContentHash? = nil, verify: Bool = false) async throws
    -> Uploader_V1_Session
  {
    try await completeSession(.with {
      $0.sessionID = session
      $0.sha256 = Data((sha256 ?? ContentHash.of(file.bytes)).bytes)
      $0.partSha256S = file.partDigests
      $0.verify = verify
    }).session
  }

  func get(_ session: String) async throws -> Uploader_V1_Session {
    try await getSession(.with { $0.sessionID = session })
  }
}
