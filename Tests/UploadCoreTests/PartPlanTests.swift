import Testing
import UploadCore

@Suite struct PartPlanTests {
  let limit = PartSizing.maximumObjectSize

  @Test func cutsTheObjectIntoEqualPartsAndARemainder() throws {
    let plan = try PartPlan.make(size: (16 << 20) + 5, requestedPartSize: 8 << 20, maximumObjectSize: limit)
    #expect(plan.partCount == 3)
    #expect((1...3).map(plan.size(ofPart:)) == [8 << 20, 8 << 20, 5])
    #expect(!plan.contains(part: 0) && plan.contains(part: 3) && !plan.contains(part: 4))
  }

  @Test func anEmptyObjectHasNoParts() throws {
    #expect(try PartPlan.make(size: 0, requestedPartSize: 0, maximumObjectSize: limit).partCount == 0)
  }

  @Test func smallerPartsSpreadAnObjectOverManyStreams() throws {
    let size: Int64 = 256 << 20
    // Alone: 8 MiB parts. Over 64 streams: S3's smallest, 5 MiB, is as far as it goes (52 parts).
    #expect(try PartPlan.make(size: size, requestedPartSize: 0, maximumObjectSize: limit).partSize == 8 << 20)
    #expect(try PartPlan.make(size: size, requestedPartSize: 0, maximumObjectSize: limit, spreadOver: 64).partSize == 5 << 20)
    // Over 20 streams: 6 MiB parts, 2 for each.
    #expect(try PartPlan.make(size: size, requestedPartSize: 0, maximumObjectSize: limit, spreadOver: 20).partSize == 6 << 20)
    // A large object keeps 8 MiB; a part size asked for is kept.
    #expect(try PartPlan.make(size: 4 << 30, requestedPartSize: 0, maximumObjectSize: limit, spreadOver: 64).partSize == 8 << 20)
    #expect(try PartPlan.make(size: size, requestedPartSize: 16 << 20, maximumObjectSize: limit, spreadOver: 64).partSize == 16 << 20)
  }

  @Test func choosesLargerPartsForLargeObjects() throws {
    let plan = try PartPlan.make(size: 1 << 40, requestedPartSize: 0, maximumObjectSize: limit)
    #expect(plan.partCount <= 10_000)
    #expect(plan.partSize == 128 << 20)
    #expect(try PartPlan.make(size: 100, requestedPartSize: 0, maximumObjectSize: limit).partSize == 8 << 20)
  }

  @Test(arguments: [
    (Int64(10), Int64(1 << 20), UploadError.Code.invalidRequest, "below the 5 MiB minimum"),
    (Int64(10), Int64(6) << 30, .invalidRequest, "above the 5 GiB maximum"),
    (Int64(100_000) << 20, Int64(5) << 20, .invalidRequest, "the limit is 10,000"),
    (Int64(2) << 40, Int64(0), .objectTooLarge, "at most 1099511627776"),
    (Int64(-1), Int64(0), .invalidRequest, "negative"),
  ])
  func refusesImpossiblePlans(size: Int64, partSize: Int64, code: UploadError.Code, message: String) {
    #expect {
      try PartPlan.make(size: size, requestedPartSize: partSize, maximumObjectSize: 1 << 40)
    } throws: { error in
      guard let error = error as? UploadError else { return false }
      return error.code == code && error.message.contains(message)
    }
  }

  @Test func anOpenPlanGrowsAndClosesWhereTheStreamEnds() throws {
    let open = try PartPlan.open(requestedPartSize: 0)
    #expect(!open.isSizeKnown && open.partCount == 10_000 && open.partSize == 8 << 20)
    #expect(open.size(ofPart: 1_000) == 8 << 20 && open.size(ofPart: 1_001) == 16 << 20)
    #expect(open.sizing.capacity >= PartSizing.maximumObjectSize)

    let fixed = open.fixing(size: (8 << 20) + 3)
    #expect(fixed.isSizeKnown && fixed.partCount == 2)
    #expect(fixed.size(ofPart: 2) == 3)
    #expect(!fixed.contains(part: 3))
    #expect(open.fixing(size: 0).partCount == 0)
  }

  @Test func anOpenPlanRefusesPartsS3Refuses() {
    #expect(throws: UploadError.self) { try PartPlan.open(requestedPartSize: 1 << 20) }
    #expect(throws: UploadError.self) { try PartPlan.open(requestedPartSize: 6 << 30) }
  }
}

