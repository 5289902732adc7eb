import Foundation
import Testing
import UploadCore
import UploadServer

/// The benchmark's store: an upload through it completes as any other, and nothing is kept.
@Suite struct DiscardingStoreTests {
  @Test func anUploadCompletesAndLeavesNothingBehind() async throws {
    let data = try TemporaryDirectory()
    defer { data.remove() }
    var configuration = testConfiguration(dataDirectory: data.path)
    configuration.discardsObjects = true
    let bytes = (0..<(12 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }  // three 5 MiB parts

    let response = try await withServer(configuration) { client, _ in
      try await client.upload(bytes, as: "bench/file.bin")
    }

    #expect(response.success)
    #expect(response.message.contains("sha256 \(ContentHash.of(bytes).hex)"))
    #expect(data.files(under: "spool").isEmpty)
    #expect(data.files(under: "store").isEmpty)
  }
}
