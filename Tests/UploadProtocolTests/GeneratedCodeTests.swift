import Crypto
import Foundation
import Testing
import UploadProtocol

/// Generated code is committed; these tests catch a `.proto` changed without regenerating.
@Suite struct GeneratedCodeTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// The checksum `scripts/protos-checksum.sh` computes: each proto's `./path` line then its
  /// bytes, in byte order of the paths.
  @Test func recordedChecksumMatchesProtos() throws {
    let protos = Self.root.appendingPathComponent("Protos")
    let enumerator = try #require(FileManager.default.enumerator(atPath: protos.path))
    let paths = enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".proto") }
      .map { "./" + $0 }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    var hasher = SHA256()
    for path in paths {
      hasher.update(data: Array((path + "\n").utf8))
      hasher.update(data: try Data(contentsOf: protos.appendingPathComponent(path)))
    }
    let actual = hasher.finalize().map { String(format: "%02x", $0) }.joined()
    let recorded = try String(
      contentsOf: Self.root.appendingPathComponent("Sources/UploadProtocol/Protos.sha256"), encoding: .utf8)
    #expect(
      recorded.trimmingCharacters(in: .whitespacesAndNewlines) == actual,
      "Protos/ changed without regenerating: run scripts/generate-protos.sh")
  }

  @Test func originalContractKeepsItsWireNames() {
    #expect(Uploader_FileUploader.Method.Upload.descriptor.fullyQualifiedMethod == "uploader.FileUploader/Upload")
    #expect(Uploader_UploadRequest.protoMessageName == "uploader.UploadRequest")
    #expect(Uploader_UploadResponse.protoMessageName == "uploader.UploadResponse")
  }
}
