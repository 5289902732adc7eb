import Testing
import UploadCore

@Suite struct MediaTypeTests {
  @Test(arguments: [
    ("clip.mp4", "video/mp4"), ("dir.d/REPORT.PDF", "application/pdf"), ("backup.tar.gz", "application/gzip"),
    ("data.parquet", "application/vnd.apache.parquet"), ("firmware.bin", "application/octet-stream"),
  ])
  func guessesByTheLastExtension(name: String, type: String) {
    #expect(MediaType.guess(forFileName: name) == type)
  }

  @Test(arguments: ["README", ".bashrc", "dump.unknownext", "dir.d/file", "trailing."])
  func hasNoGuessWithoutAKnownExtension(name: String) {
    #expect(MediaType.guess(forFileName: name) == nil)
  }

  @Test func everyGuessIsAValidContentType() throws {
    for name in ["a.mp4", "a.csv", "a.docx", "a.svg", "a.zst"] {
      let type = try #require(MediaType.guess(forFileName: name))
      _ = try ObjectAttributes.validated(contentType: type, metadata: [:])
    }
  }
}
