import Foundation
import Testing
import UploadCore

@Suite struct TusMetadataTests {
  private func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

  @Test func parsesPairsAndKeysWithoutValues() throws {
    let metadata = try TusMetadata(
      header: "filename \(base64("photos/é 1.jpg")),filetype \(base64("image/jpeg")), is_confidential ,camera \(base64("north-7"))")
    #expect(metadata.pairs == ["filename": "photos/é 1.jpg", "filetype": "image/jpeg", "is_confidential": "", "camera": "north-7"])
    #expect(metadata.objectKey == "photos/é 1.jpg")
    #expect(metadata.contentType == "image/jpeg")
    #expect(metadata.objectMetadata == ["is_confidential": "", "camera": "north-7"])
  }

  @Test func keyNamesTheObjectBeforeFilename() throws {
    let metadata = try TusMetadata(header: "filename \(base64("a.txt")),key \(base64("dir/b.txt"))")
    #expect(metadata.objectKey == "dir/b.txt")
    #expect(metadata.objectMetadata.isEmpty)
    #expect(try TusMetadata(header: "filetype \(base64("text/plain"))").objectKey == nil)
  }

  @Test func metadataNamesAreLowerCasedAsS3KeepsThem() throws {
    let metadata = try TusMetadata(header: "relativePath \(base64("null")),filename \(base64("a"))")
    #expect(metadata.objectMetadata == ["relativepath": "null"])
  }

  @Test(arguments: [
    ("filename", "filename \(Data("a".utf8).base64EncodedString()),filename \(Data("b".utf8).base64EncodedString())", "given twice"),
    ("not base64", "filename ***", "not base64"),
    ("three fields", "filename YQ== YQ==", "separated by one space"),
    ("empty item", "filename YQ==,,", "separated by one space"),
    ("not UTF-8", "filename /w==", "not UTF-8"),
  ])
  func refusesMalformedHeaders(label: String, header: String, reason: String) {
    do {
      _ = try TusMetadata(header: header)
      Issue.record("\(label): accepted")
    } catch {
      #expect(error.code == .invalidRequest)
      #expect(error.message.contains(reason), "\(label): \(error.message)")
    }
  }

  @Test func headerRoundTrips() throws {
    let pairs = ["key": "a/b c", "flag": "", "filetype": "text/plain"]
    #expect(try TusMetadata(header: TusMetadata.header(pairs)).pairs == pairs)
    #expect(TusMetadata.header(["b": "", "a": "x"]) == "a eA==,b")
  }
}
