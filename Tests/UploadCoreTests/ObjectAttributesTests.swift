import Testing
import UploadCore

@Suite struct ObjectAttributesTests {
  @Test func acceptsWhatS3Keeps() throws {
    let attributes = try ObjectAttributes.validated(
      contentType: "text/csv; charset=utf-8", metadata: ["camera": "north-7", "shot.id": "a_b-c", "empty": ""])
    #expect(attributes.contentType == "text/csv; charset=utf-8")
    #expect(attributes.storedMetadata == ["camera": "north-7", "shot.id": "a_b-c", "empty": ""])
    #expect(try ObjectAttributes.validated(contentType: "", metadata: [:]) == ObjectAttributes())
  }

  @Test(arguments: [
    ("text", "a content type is type/subtype"),
    ("text/plain\r\nx-amz-acl: public-read", "only printable ASCII"),
    (" text/plain", "leading or trailing space"),
    ("text/" + String(repeating: "x", count: 251), "longer than 255 bytes"),
  ])
  func refusesContentType(contentType: String, reason: String) {
    #expect(throws: UploadError.self) { try ObjectAttributes.validated(contentType: contentType, metadata: [:]) }
    #expect(message(contentType: contentType).contains(reason))
  }

  @Test(arguments: [
    ("", "the name is empty"),
    ("Camera", "use \"camera\""),
    ("sha256", "set by the server"),
    ("a b", "only a-z, 0-9"),
    ("x:y", "only a-z, 0-9"),
    ("é", "only a-z, 0-9"),
    ("-flag", "start with a letter or digit"),
    (String(repeating: "n", count: 129), "longer than 128 bytes"),
  ])
  func refusesName(name: String, reason: String) {
    #expect(message(metadata: [name: "v"]).contains("invalid metadata name"))
    #expect(message(metadata: [name: "v"]).contains(reason))
  }

  @Test(arguments: [
    ("line\r\nx-amz-acl: public-read", "only printable ASCII"),
    ("tab\there", "only printable ASCII"),
    ("café", "only printable ASCII"),
    (" padded", "leading or trailing space"),
  ])
  func refusesValue(value: String, reason: String) {
    #expect(message(metadata: ["note": value]).contains("invalid value of metadata \"note\""))
    #expect(message(metadata: ["note": value]).contains(reason))
  }

  @Test func limitCountsNamesAndValuesAndLeavesRoomForTheDigest() throws {
    #expect(ObjectAttributes.maximumMetadataBytes + "sha256".utf8.count + 64 == 2048)
    let exactly = ["n": String(repeating: "v", count: ObjectAttributes.maximumMetadataBytes - 1)]
    _ = try ObjectAttributes.validated(contentType: "", metadata: exactly)
    let over = ["n": String(repeating: "v", count: ObjectAttributes.maximumMetadataBytes)]
    #expect(message(metadata: over).contains("1979 bytes of names and values; the limit is 1978"))
    #expect(message(metadata: ["ab": "cd"], limit: 3).contains("4 bytes"))
  }

  @Test func storedMetadataAddsTheVerifiedDigest() {
    let digest = ContentHash.of(Array("bytes".utf8))
    let attributes = ObjectAttributes(contentType: "a/b", metadata: ["k": "v"], sha256: digest)
    #expect(attributes.storedMetadata == ["k": "v", "sha256": digest.hex])
  }

  private func message(contentType: String = "", metadata: [String: String] = [:], limit: Int = ObjectAttributes.maximumMetadataBytes)
    -> String
  {
    do {
      _ = try ObjectAttributes.validated(contentType: contentType, metadata: metadata, limit: limit)
      return "accepted"
    } catch {
      #expect(error.code == .invalidRequest)
      return error.message
    }
  }
}
