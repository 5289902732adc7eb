import Foundation
import Testing
import UploadCore

@testable import UploaderClient

/// The bookkeeping of `uploader upload -`: what is sent, what ends the object, and what a
/// reconnect may ask for.
@Suite struct StreamStateTests {
  let plan = PartPlan(size: nil, sizing: PartSizing(basePartSize: 8, partsPerTier: 2))

  @Test func piecesStopAtPartEndsAndAnEmptyChunkEndsTheObject() throws {
    let state = StreamState()
    try state.begin(session: "s", plan: plan, durable: 0)
    let bytes = Data((0..<20).map { UInt8($0) })
    let digests = try state.append(bytes, plan: plan)
    // Parts of 8, 8, then 16 bytes: parts 1 and 2 are full, part 3 is not yet.
    #expect(digests.map(\.part) == [1, 2])
    let first = try #require(state.piece(from: 0, plan: plan, limit: 100))
    #expect(first.part == 1 && first.data.count == 8 && first.last && first.digest == ContentHash.of(Array(bytes[0..<8])))
    // Nothing ends the object until the input does.
    #expect(state.piece(from: 20, plan: plan, limit: 100) == nil)
    _ = try state.append(Data(), plan: plan)
    let end = try #require(state.piece(from: 20, plan: plan, limit: 100))
    #expect(end.endsObject && end.data.isEmpty && end.part == 3 && end.offset == 4)
    #expect(end.digest == ContentHash.of(Array(bytes[16..<20])))
    #expect(state.finished.0 == 20 && state.finished.1 == ContentHash.of(Array(bytes)))
  }

  @Test func aServerHoldingLessThanWasDroppedIsRefused() throws {
    let state = StreamState()
    try state.begin(session: "s", plan: plan, durable: 0)
    _ = try state.append(Data(count: 20), plan: plan)
    #expect(try state.acknowledge(upTo: 12) == 12)
    // Standard input cannot give those bytes again.
    #expect(throws: ClientError.self) { try state.begin(session: "s", plan: plan, durable: 5) }
    // More than acknowledged is fine: the acknowledgement was lost on the way.
    try state.begin(session: "s", plan: plan, durable: 16)
    #expect(state.tailStart == 16)
  }
}
