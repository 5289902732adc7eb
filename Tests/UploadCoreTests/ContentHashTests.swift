import Testing
import UploadCore

@Suite struct ContentHashTests {
  @Test func emptyInputMatchesTheWellKnownDigest() {
    #expect(ContentHash.empty.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(ContentHash.empty.base64 == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
  }

  @Test func hexRoundTrips() throws {
    let digest = ContentHash.of(Array("Welcome to Amazon S3.".utf8))
    #expect(digest.hex == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
    #expect(ContentHash(hex: digest.hex.uppercased()) == digest)
    #expect(ContentHash(hex: "zz" + digest.hex.dropFirst(2)) == nil)
    #expect(ContentHash(hex: "abc") == nil)
  }
}
