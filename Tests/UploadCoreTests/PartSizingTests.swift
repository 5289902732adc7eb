import Testing
import UploadCore

@Suite struct PartSizingTests {
  @Test func startsAtTheBaseSizeAndDoublesPerTier() {
    let sizing = PartSizing(basePartSize: 8 << 20, partsPerTier: 1_000)
    #expect(sizing.partSize(forPart: 1) == 8 << 20)
    #expect(sizing.partSize(forPart: 1_000) == 8 << 20)
    #expect(sizing.partSize(forPart: 1_001) == 16 << 20)
    #expect(sizing.partSize(forPart: 10_000) == (8 << 20) << 9)
  }

  @Test func tenThousandPartsHoldTheLargestS3Object() {
    #expect(PartSizing().capacity >= PartSizing.maximumObjectSize)
  }

  @Test func neverExceedsTheLargestS3Part() {
    let sizing = PartSizing(basePartSize: 1 << 30, partsPerTier: 1)
    #expect(sizing.partSize(forPart: 4) == PartSizing.maximumPartSize)
    #expect(sizing.partSize(forPart: 10_000) == PartSizing.maximumPartSize)
  }

  @Test func offsetsAndPartsContainingAgreeAcrossTiers() {
    let sizing = PartSizing(basePartSize: 5 << 20, partsPerTier: 3)
    var offset: Int64 = 0
    for number in 1...12 {
      #expect(sizing.offset(ofPart: number) == offset)
      #expect(sizing.part(containing: offset) == number)
      #expect(sizing.part(containing: offset + sizing.partSize(forPart: number) - 1) == number)
      offset += sizing.partSize(forPart: number)
    }
    #expect(sizing.partCount(for: 0) == 0)
    #expect(sizing.partCount(for: 1) == 1)
    #expect(sizing.partCount(for: sizing.offset(ofPart: 7)) == 6)
    #expect(sizing.partCount(for: sizing.offset(ofPart: 7) + 1) == 7)
  }

  @Test func uniformSizingIsOneEndlessTier() {
    let sizing = PartSizing.uniform(8 << 20)
    #expect(sizing.isUniform)
    #expect(sizing.partSize(forPart: 9_999) == 8 << 20)
    #expect(sizing.offset(ofPart: 10_000) == Int64(9_999) * (8 << 20))
    #expect(sizing.partCount(for: (16 << 20) + 1) == 3)
  }
}

