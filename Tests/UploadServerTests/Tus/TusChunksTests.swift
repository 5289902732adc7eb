import Foundation
import NIOCore
import Testing
import UploadCore

@testable import UploadServer

@Suite struct TusChunksTests {
  private let id = SessionID(unchecked: String(repeating: "b", count: 32))

  private func session(_ plan: PartPlan) throws -> SessionRecord {
    SessionRecord(
      id: id, idempotencyKey: nil, key: try ObjectKey(validating: "t.bin"), plan: plan, contentType: "", metadata: [:],
      origin: .tus, storageUploadID: nil, state: .open, createdAt: 0, updatedAt: 0, expiresAt: 1)
  }

  /// The chunks of `body` (given as pieces) at `offset`.
  private func chunks(
    _ plan: PartPlan, offset: Int64, endsAt: Int64?, pieces: [[UInt8]], chunkSize: Int = 4
  ) async throws -> (chunks: [SessionReceiver.Chunk], counted: Int64) {
    var remaining = pieces
    let counter = ByteCounter()
    let sequence = TusChunks(
      session: try session(plan), offset: offset, endsAt: endsAt, chunkSize: chunkSize,
      read: {
        guard !remaining.isEmpty else { return nil }
        return ByteBuffer(bytes: remaining.removeFirst())
      }, counter: counter)
    var result: [SessionReceiver.Chunk] = []
    for try await chunk in sequence { result.append(chunk) }
    return (result, counter.count)
  }

  @Test func cutsTheBodyAtPartBoundariesFromAnOffsetInsideAPart() async throws {
    // Parts of 10 bytes, 25 in all; the body is bytes 7..<25.
    let body = Array(UInt8(7)..<25)
    let (chunks, counted) = try await chunks(
      PartPlan(size: 25, partSize: 10), offset: 7, endsAt: 25, pieces: [Array(body[0..<5]), Array(body[5...])])
    #expect(counted == 18)
    #expect(chunks.map(\.partNumber) == [1, 2, 2, 2, 3, 3])
    #expect(chunks.map(\.offset) == [7, 0, 4, 8, 0, 4])
    #expect(chunks.map(\.last) == [true, false, false, true, false, true])
    #expect(chunks.allSatisfy { !$0.endsObject && $0.acceptsUndeclaredDigest && $0.partSHA256.isEmpty })
    #expect(chunks.flatMap { Array($0.data) } == body)
  }

  @Test func aBodyEndingMidPartLeavesThePartOpen() async throws {
    let (chunks, counted) = try await chunks(
      PartPlan(size: 25, partSize: 10), offset: 0, endsAt: 25, pieces: [Array(repeating: 1, count: 6)])
    #expect(counted == 6)
    #expect(chunks.map(\.offset) == [0, 4])
    #expect(chunks.map(\.last) == [false, false])
  }

  @Test func theLastByteOfADeferredLengthEndsTheObject() async throws {
    let plan = try PartPlan.open(requestedPartSize: 5 << 20, partsPerTier: 1000)
    let (chunks, _) = try await chunks(plan, offset: 3, endsAt: 9, pieces: [[1, 2, 3], [4, 5, 6]], chunkSize: 1 << 20)
    #expect(chunks.count == 1)
    #expect(chunks[0].endsObject && chunks[0].last && chunks[0].offset == 3 && chunks[0].data.count == 6)
  }

  @Test func anEmptyBodyAtAPartBoundaryEndsTheObjectAtThePreviousPartsEnd() async throws {
    let plan = try PartPlan.open(requestedPartSize: 5 << 20, partsPerTier: 1000)
    let (chunks, counted) = try await chunks(plan, offset: 5 << 20, endsAt: 5 << 20, pieces: [])
    #expect(counted == 0)
    #expect(chunks.count == 1)
    #expect(chunks[0].partNumber == 1 && chunks[0].offset == 5 << 20 && chunks[0].endsObject && chunks[0].data.isEmpty)
    let (empty, _) = try await self.chunks(plan, offset: 0, endsAt: 0, pieces: [])
    #expect(empty.count == 1 && empty[0].partNumber == 1 && empty[0].offset == 0 && empty[0].endsObject)
  }

  @Test func aBodyPastTheLengthIsRefusedBeforeItsExtraBytes() async throws {
    await #expect(throws: UploadError.self) {
      _ = try await chunks(PartPlan(size: 8, partSize: 10), offset: 4, endsAt: 8, pieces: [[1, 2, 3, 4, 5]])
    }
  }

  @Test func theOffsetCountsReceivedPartsAndOnlyThisNodesTail() {
    let id = id
    func part(_ number: Int, _ state: PartState, received: Int64, holder: String?) -> PartRecord {
      PartRecord(sessionID: id, number: number, size: 10, receivedBytes: received, state: state, updatedAt: 0, holderNode: holder)
    }
    let parts = [
      part(2, .received, received: 10, holder: "b"), part(1, .committed, received: 10, holder: "a"),
      part(3, .receiving, received: 4, holder: "me"), part(4, .received, received: 10, holder: "me"),
    ]
    #expect(TusService.offset(of: parts, node: "me") == 24)
    #expect(TusService.offset(of: parts, node: "other") == 20, "another node's tail cannot be continued here")
    #expect(TusService.offset(of: [], node: "me") == 0)
    #expect(TusService.offset(of: [part(2, .received, received: 10, holder: nil)], node: "me") == 0, "part 1 is missing")
  }
}
