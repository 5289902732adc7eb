import Testing

@testable import S3

@Suite struct URIEncodingTests {
  @Test func keepsUnreservedCharactersOnly() {
    #expect(URIEncoding.encode("AZaz09-_.~") == "AZaz09-_.~")
    #expect(URIEncoding.encode("a b+c/d=e&f") == "a%20b%2Bc%2Fd%3De%26f")
    #expect(URIEncoding.encode("é") == "%C3%A9")
  }

  @Test func pathsKeepSlashes() {
    #expect(URIEncoding.encodePath("dir/a b/c$") == "dir/a%20b/c%24")
  }
}
