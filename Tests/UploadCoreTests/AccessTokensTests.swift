import Testing
import UploadCore

struct AccessTokensTests {
  static func digest(_ token: String) -> String { ContentHash.of(Array(token.utf8)).hex }

  @Test func mapsTokensToTheirPrincipalsAndNothingElse() throws {
    let tokens = try AccessTokens(parsing: """
      # principal  sha256(token)
      alice \(Self.digest("alice-secret"))

      bob\t\(Self.digest("bob-secret").uppercased())
      """)
    #expect(tokens.entries.map(\.principal.name) == ["alice", "bob"])
    #expect(tokens.principal(for: "alice-secret")?.name == "alice")
    #expect(tokens.principal(for: "bob-secret")?.name == "bob")
    #expect(tokens.principal(for: "alice-secret ") == nil)
    #expect(tokens.principal(for: "") == nil)
    // The file holds digests: the digest itself is not a token.
    #expect(tokens.principal(for: Self.digest("alice-secret")) == nil)
  }

  @Test(arguments: [
    ("alice", "line 1: expected \"PRINCIPAL SHA256HEX\", got 1 field(s)"),
    ("alice abc", "line 1: the second field must be the token's SHA-256 as 64 hex digits"),
    ("al/ice \(digest("x"))", "line 1: the principal name \"al/ice\" may only use letters, digits, '-', '_', '.' and '@'"),
    ("alice \(digest("x")) extra", "line 1: expected \"PRINCIPAL SHA256HEX\", got 3 field(s)"),
    ("alice \(digest("x"))\nbob \(digest("x"))", "line 2: the same token is listed for alice and bob"),
  ])
  func rejectsMalformedLinesNamingThem(text: String, message: String) {
    #expect(throws: UploadError(.invalidRequest, message)) { try AccessTokens(parsing: text) }
  }

  @Test func principalNamesAreSafeKeySegments() throws {
    #expect(try Principal(validating: "svc.backup@eu-1").name == "svc.backup@eu-1")
    for bad in ["", ".", "..", "a b", "a/b", String(repeating: "a", count: 65), "é"] {
      #expect(throws: UploadError.self) { try Principal(validating: bad) }
    }
  }

  @Test func placesKeysUnderThePrincipalOnlyWhenAsked() throws {
    let alice = try Principal(validating: "alice")
    #expect(try KeyPlacement().key("a/b.bin", for: alice).rawValue == "a/b.bin")
    #expect(try KeyPlacement(prefixPerPrincipal: true).key("a/b.bin", for: alice).rawValue == "alice/a/b.bin")
    #expect(try KeyPlacement(prefixPerPrincipal: true).key("a/b.bin", for: .anonymous).rawValue == "a/b.bin")
    #expect(throws: UploadError.self) { try KeyPlacement(prefixPerPrincipal: true).key("../bob/x", for: alice) }
  }
}
