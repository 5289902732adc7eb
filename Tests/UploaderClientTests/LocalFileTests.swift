import Foundation
import Testing

@testable import UploaderClient

@Suite struct LocalFileTests {
  /// A file in a directory of its own, removed after `body`.
  func withFile(_ bytes: [UInt8], _ body: (String) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("local-file-\(UUID())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/file"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    try await body(path)
  }

  @Test func readsTheWholeFileWithTheIdentityAStatGives() async throws {
    let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    try await withFile(bytes) { path in
      let (read, before, after) = try await LocalFile.contents(of: path, limit: bytes.count)
      #expect(Array(read.readableBytesView) == bytes)
      let identity = try await LocalFile.identity(of: path)
      #expect(before == identity && after == identity)
    }
  }

  /// A file that grew past what was expected is read one byte past the limit, no further, so
  /// the caller sees it is not the file it recorded.
  @Test func readsNoFurtherThanOneBytePastTheLimit() async throws {
    try await withFile(Array(repeating: 1, count: 300_000)) { path in
      let (read, _, _) = try await LocalFile.contents(of: path, limit: 1_000)
      #expect(read.readableBytes > 1_000 && read.readableBytes < 300_000)
    }
  }

  @Test func anEmptyFileReadsAsNoBytes() async throws {
    try await withFile([]) { path in
      let (read, before, _) = try await LocalFile.contents(of: path, limit: 0)
      #expect(read.readableBytes == 0 && before.size == 0)
    }
  }

  @Test func aMissingFileIsAnErrorThatSaysSo() async throws {
    let error = await #expect(throws: ClientError.self) {
      _ = try await LocalFile.contents(of: "/nonexistent/uploader-test-file", limit: 10)
    }
    #expect(error?.message == "/nonexistent/uploader-test-file: no such file")
  }

  @Test func aDirectoryCannotBeRead() async throws {
    let error = await #expect(throws: ClientError.self) {
      _ = try await LocalFile.contents(of: FileManager.default.temporaryDirectory.path, limit: 10)
    }
    #expect(error?.message.hasPrefix("cannot read ") == true)
  }

  /// A batch's identities, in order, each as a stat of its own gives it, or its own error.
  @Test func identitiesOfManyFilesInOrderEachWithItsOwnError() async throws {
    try await withFile(Array(repeating: 3, count: 1234)) { path in
      let directory = (path as NSString).deletingLastPathComponent
      let identities = try await LocalFile.identities(of: [path, directory + "/missing", directory, path])
      let identity = try await LocalFile.identity(of: path)
      #expect(try identities[0].get() == identity && identity.size == 1234)
      #expect(try identities[3].get() == identity)
      /// The error's message, or nil for an identity.
      func message(_ result: Result<FileIdentity, ClientError>) -> String? {
        if case .failure(let error) = result { error.message } else { nil }
      }
      #expect(message(identities[1]) == directory + "/missing: no such file")
      #expect(message(identities[2]) == directory + " is not a regular file")
      #expect(identities.count == 4)
    }
  }
}
