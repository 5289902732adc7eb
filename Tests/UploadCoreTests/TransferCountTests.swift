import Testing
import UploadCore

@Suite struct TransferCountTests {
  @Test func smallFilesRunManyAtOnce() {
    #expect(TransferCount.automatic(fileSizes: Array(repeating: 40_000, count: 1_000)) == 64)
    #expect(TransferCount.automatic(fileSizes: Array(repeating: 256 << 10, count: 10)) == 64)
    #expect(TransferCount.automatic(fileSizes: Array(repeating: (256 << 10) + 1, count: 10)) == 32)
    #expect(TransferCount.automatic(fileSizes: Array(repeating: 2 << 20, count: 10)) == 32)
    #expect(TransferCount.automatic(fileSizes: [0, 0, 0]) == 64)
  }

  @Test func largerFilesRunFewer() {
    #expect(TransferCount.automatic(fileSizes: Array(repeating: 4 << 20, count: 10)) == 16)
    #expect(TransferCount.automatic(fileSizes: Array(repeating: 16 << 20, count: 10)) == 4)
    #expect(TransferCount.automatic(fileSizes: [5 << 30, 1 << 30]) == 4)
  }

  @Test func theMedianDecidesNotTheLargest() {
    // A folder of photos with two videos: the photos set the pace.
    let sizes: [Int64] = Array(repeating: 3 << 20, count: 50) + [4 << 30, 2 << 30]
    #expect(TransferCount.automatic(fileSizes: sizes) == 21)
  }

  @Test func anEmptyBatchGetsTheLowestCount() {
    #expect(TransferCount.automatic(fileSizes: []) == 4)
  }
}
