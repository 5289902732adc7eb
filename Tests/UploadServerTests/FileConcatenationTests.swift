import Foundation
import NIOFileSystem
import Testing

@testable import UploadServer

@Suite struct FileConcatenationTests {
  /// Parts of odd sizes (one empty, one larger than a read buffer) join in order, and a file
  /// already at the destination is replaced.
  @Test func joinsFilesInOrderAndReplacesTheDestination() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("concat-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let contents = [
      Data((0..<3_000_001).map { UInt8(truncatingIfNeeded: $0 &* 7) }), Data(), Data("tail".utf8),
    ]
    var sources: [FilePath] = []
    for (index, data) in contents.enumerated() {
      let url = directory.appendingPathComponent("\(index)")
      try data.write(to: url)
      sources.append(FilePath(url.path))
    }
    let destination = directory.appendingPathComponent("joined")
    try Data(repeating: 0xEE, count: 5_000_000).write(to: destination)

    let written = try await FileConcatenation.concatenate(sources, into: FilePath(destination.path))

    let expected = contents.reduce(Data(), +)
    #expect(written == Int64(expected.count))
    #expect(try Data(contentsOf: destination) == expected)
  }

  @Test func aMissingSourceIsReportedByName() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("concat-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let missing = FilePath(directory.appendingPathComponent("gone").path)
    await #expect {
      _ = try await FileConcatenation.concatenate([missing], into: FilePath(directory.appendingPathComponent("out").path))
    } throws: { error in
      "\(error)".contains("opening \(missing)")
    }
  }
}
