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
}
