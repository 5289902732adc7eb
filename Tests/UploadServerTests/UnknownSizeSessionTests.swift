import Foundation
import GRPCCore
import TestSupport
import Testing
import UploadCore
import UploadProtocol
import UploadServer

/// Sessions of unknown size over a real loopback socket, with the local directory store: parts
/// follow the growing plan, and the chunk with `ends_object` fixes the size.
@Suite struct UnknownSizeSessionTests {
  static let partSize: Int64 = 5 << 20

  func configuration(_ data: TemporaryDirectory) -> ServerConfiguration {
    var configuration = testConfiguration(dataDirectory: data.path)
    // Parts double every 2 parts, so a test sees the growth without sending gigabytes.
    configuration.sessions.streamingPartsPerTier = 2
    return configuration
  }

  func createOpen(_ client: SessionsClient, key: String) async throws -> Uploader_V1_Session {
    try await client.createSession(.with {
      $0.key = key
      $0.sizeUnknown = true
      $0.partSize = UInt64(Self.partSize)
    })
  }

  /// Sends `bytes` cut at the growing plan's part boundaries; `endsWithEmptyChunk` ends the
  /// object with an empty chunk after the last byte instead of on the chunk holding it.
  func send(_ bytes: [UInt8], to session: Uploader_V1_Session, over client: SessionsClient, endsWithEmptyChunk: Bool = false)
    async throws -> StreamLog
  {
    let plan = PartPlan(
      size: nil, sizing: PartSizing(basePartSize: Int64(session.partSize), partsPerTier: Int(session.partsPerTier)))
    let log = StreamLog()
    try await client.uploadParts(requestProducer: { writer in
      var offset: Int64 = 0
      var part = 1
      repeat {
        let size = min(plan.size(ofPart: part), Int64(bytes.count) - offset)
        let slice = Array(bytes[Int(offset)..<Int(offset + size)])
        let isFinal = offset + size == Int64(bytes.count)
        // 1 MiB messages; the digest with the first, `last` and `ends_object` with the last.
        var within = 0
        repeat {
          let length = min(1 << 20, slice.count - within)
          let ends = within + length == slice.count
          try await writer.write(.with {
            $0.sessionID = session.id
            $0.partNumber = UInt32(part)
            $0.offset = UInt64(within)
            $0.data = Data(slice[within..<(within + length)])
            if within == 0 { $0.partSha256 = Data(ContentHash.of(slice).bytes) }
            $0.last = ends
            $0.endsObject = ends && isFinal && !endsWithEmptyChunk
          })
          within += length
        } while within < slice.count
        offset += size
        if isFinal && endsWithEmptyChunk {
          try await writer.write(.with {
            $0.sessionID = session.id
            $0.partNumber = UInt32(part)
            $0.offset = UInt64(size)
            $0.last = true
            $0.endsObject = true
          })
        }
        part += 1
      } while offset < Int64(bytes.count)
    }, onResponse: { response in
      for try await event in response.messages { log.received(event) }
    })
    return log
  }

  func complete(_ bytes: [UInt8], _ session: Uploader_V1_Session, over client: SessionsClient) async throws
    -> Uploader_V1_Session
  {
    let fixed = try await client.get(session.id)
    return try await client.completeSession(.with {
      $0.sessionID = session.id
      $0.sha256 = Data(ContentHash.of(bytes).bytes)
      $0.partSha256S = fixed.parts.map(\.sha256)
    }).session
  }

  @Test(arguments: [
    ("empty", 0, false), ("one byte", 1, false), ("exactly one part", Int(partSize), false),
    ("exactly one part, then an empty final chunk", Int(partSize), true),
    ("growing parts", Int(4 * partSize + 3 * partSize / 2), false),
    ("growing parts, then an empty final chunk", Int(5 * partSize), true),
  ])
  func theObjectIsExactlyTheStream(_ name: String, size: Int, endsWithEmptyChunk: Bool) async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let bytes = randomBytes(size, seed: UInt64(size))
    try await withSessionsServer(configuration(data)) { client, _ in
      let session = try await createOpen(client, key: "open/\(size)")
      #expect(session.sizeUnknown && session.size == 0 && session.partCount == 0 && session.partsPerTier == 2)
      #expect(session.acknowledgementBytes > 0)
      _ = try await send(bytes, to: session, over: client, endsWithEmptyChunk: endsWithEmptyChunk)
      let fixed = try await client.get(session.id)
      #expect(!fixed.sizeUnknown && fixed.size == UInt64(size))
      // 5, 5, 10, 10, ... MiB: the plan grows every two parts.
      let plan = PartPlan(size: Int64(size), sizing: PartSizing(basePartSize: Self.partSize, partsPerTier: 2))
      #expect(fixed.partCount == UInt32(plan.partCount))
      #expect(fixed.parts.map(\.size) == (0..<plan.partCount).map { UInt64(plan.size(ofPart: $0 + 1)) })
      let completed = try await complete(bytes, session, over: client)
      #expect(completed.state == .completed && completed.size == UInt64(size))
    }
    #expect(Array(try Data(contentsOf: URL(fileURLWithPath: data.path + "/store/objects/open/\(size)"))) == bytes)
    #expect(data.files(under: "spool").isEmpty)
    #expect(try await eventually { data.files(under: "store/uploads").isEmpty })
  }

  @Test func completeWaitsForTheChunkThatEndsTheObject() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    let bytes = randomBytes(Int(Self.partSize), seed: 3)
    try await withSessionsServer(configuration(data)) { client, _ in
      let session = try await createOpen(client, key: "open/unfinished")
      try await client.uploadParts(requestProducer: { writer in
        for offset in stride(from: 0, to: bytes.count, by: 1 << 20) {
          try await writer.write(.with {
            $0.sessionID = session.id
            $0.partNumber = 1
            $0.offset = UInt64(offset)
            $0.data = Data(bytes[offset..<min(offset + (1 << 20), bytes.count)])
            $0.partSha256 = Data(ContentHash.of(bytes).bytes)
            $0.last = offset + (1 << 20) >= bytes.count
          })
        }
      }, onResponse: { response in for try await _ in response.messages {} })
      #expect(try await client.get(session.id).sizeUnknown)
      await #expect {
        _ = try await client.completeSession(.with {
          $0.sessionID = session.id
          $0.sha256 = Data(ContentHash.of(bytes).bytes)
        })
      } throws: { error in
        guard let error = error as? RPCError else { return false }
        return error.code == .failedPrecondition && error.message.contains("ends_object")
      }
    }
  }

  @Test func refusesWhatCannotBeASessionOfUnknownSize() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    try await withSessionsServer(configuration(data)) { client, _ in
      await #expect {
        _ = try await client.createSession(.with { $0.key = "both"; $0.size = 10; $0.sizeUnknown = true })
      } throws: { ($0 as? RPCError)?.code == .invalidArgument }

      // An empty part cannot end an object that has bytes before it.
      let session = try await createOpen(client, key: "open/refused")
      await #expect {
        try await client.uploadParts(requestProducer: { writer in
          try await writer.write(.with {
            $0.sessionID = session.id
            $0.partNumber = 2
            $0.last = true
            $0.endsObject = true
          })
        }, onResponse: { response in for try await _ in response.messages {} })
      } throws: { error in
        guard let error = error as? RPCError else { return false }
        return error.code == .invalidArgument && error.message.contains("must carry its last byte")
      }

      // A session of known size ends only in its last part.
      let known = try await client.createSession(.with { $0.key = "known"; $0.size = UInt64(2 * Self.partSize); $0.partSize = UInt64(Self.partSize) })
      await #expect {
        try await client.uploadParts(requestProducer: { writer in
          try await writer.write(.with {
            $0.sessionID = known.id
            $0.partNumber = 1
            $0.data = Data(count: 10)
            $0.endsObject = true
          })
        }, onResponse: { response in for try await _ in response.messages {} })
      } throws: { error in
        guard let error = error as? RPCError else { return false }
        return error.code == .invalidArgument && error.message.contains("cannot end it")
      }
    }
  }
}
