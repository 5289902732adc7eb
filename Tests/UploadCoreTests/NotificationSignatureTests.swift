import Testing
import UploadCore

@Suite struct NotificationSignatureTests {
  /// RFC 4231, test case 2.
  @Test func matchesThePublishedHMACSHA256Vector() {
    #expect(
      NotificationSignature.header(secret: "Jefe", body: Array("what do ya want for nothing?".utf8))
        == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
  }

  @Test func dependsOnEveryByteAndTheSecret() {
    let body = Array(#"{"id":"a.completed"}"#.utf8)
    let signature = NotificationSignature.header(secret: "s", body: body)
    #expect(signature != NotificationSignature.header(secret: "t", body: body))
    #expect(signature != NotificationSignature.header(secret: "s", body: body.dropLast() + [UInt8(ascii: "]")]))
  }
}
