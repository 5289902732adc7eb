import Foundation
import NIOCore
import Testing

@testable import S3

@Suite struct XMLNodeTests {
  @Test func readsNestedElements() throws {
    let xml = "<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part><IsTruncated>false</IsTruncated></ListPartsResult>"
    let document = try #require(XMLNode.parse(Data(xml.utf8)))
    #expect(document.children("Part").map { $0.text("PartNumber") } == ["1"])
    #expect(document.text("IsTruncated") == "false")
  }

  /// Found by FuzzS3XML: FoundationXML trapped (killing the server) on an element name that is
  /// not UTF-8. Such a body is now malformed, and the error falls back to the HTTP status.
  @Test(arguments: [[0x3c, 0xff, 0xff, 0xff, 0x06, 0x0a, 0x4a], [0x3c, 0x61, 0xc3, 0x28, 0x3e]] as [[UInt8]])
  func refusesDocumentsThatAreNotUTF8(_ bytes: [UInt8]) {
    #expect(XMLNode.parse(Data(bytes)) == nil)
    let error = S3Error.decode(operation: "UploadPart", status: 500, headers: [:], body: ByteBuffer(bytes: bytes))
    #expect(error.code.rawValue == "HTTP500" && error.httpStatus == 500)
  }

  @Test(arguments: ["", "Dou\n", "<a>", "<a></b>"])
  func refusesDocumentsThatAreNotWellFormed(_ text: String) {
    #expect(XMLNode.parse(Data(text.utf8)) == nil)
  }
}
