import Testing
import UploadCore

@Suite struct ObjectKeyTests {
  @Test(arguments: ["a", "dir/file.bin", "ünïcødé/ファイル", "a.b/c..d/.hidden", String(repeating: "k", count: 1024)])
  func acceptsValidKeys(_ key: String) throws {
    #expect(try ObjectKey(validating: key).rawValue == key)
  }

  @Test(arguments: [
    ("", "empty"),
    ("../x", "'..' segment"),
    // Found by FuzzObjectKey: a combining mark after '/' makes one Swift Character of both, so a
    // check on characters missed these separators; the file system does not.
    ("../\u{301}x", "'..' segment"),
    ("/\u{301}abs", "starts with '/'"),
    ("a/\u{341}/..", "'..' segment"),
    ("a/../../b", "'..' segment"),
    ("a/..", "'..' segment"),
    ("./a", "'.' segment"),
    ("/abs", "starts with '/'"),
    ("a//b", "empty segment"),
    ("dir/", "empty segment"),
    ("nul\u{0}byte", "control character"),
    ("new\nline", "control character"),
    (String(repeating: "k", count: 1025), "1025 bytes long"),
    (String(repeating: "é", count: 513), "1026 bytes long"),
  ])
  func rejectsInvalidKeysSayingWhy(_ key: String, _ reason: String) {
    #expect {
      try ObjectKey(validating: key)
    } throws: { error in
      guard let error = error as? UploadError else { return false }
      return error.code == .invalidKey && error.message.contains(reason)
    }
  }

  @Test func errorMessagesBoundAndEscapeTheKey() throws {
    let error = #expect(throws: UploadError.self) { try ObjectKey(validating: "bad\u{0}" + String(repeating: "x", count: 2048)) }
    let message = try #require(error).message
    #expect(message.contains("\\0"))
    #expect(message.count < 200)
  }
}
