import Foundation
import NIOCore
import NIOFileSystem
import UploadCore

/// The name a server goes by among the nodes sharing a database, when none is given: made on
/// first start from the host name and a random suffix, and kept in the data directory, so a
/// restarted server is the same node (its spool holds that node's parts).
enum NodeIdentity {
  /// The id kept at `path`, made and written there if there is none.
  static func load(from path: String) async throws(UploadError) -> String {
    do {
      if try await FileSystem.shared.info(forFileAt: FilePath(path)) != nil {
        let bytes: ByteBuffer = try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) {
          (handle: ReadFileHandle) async throws -> ByteBuffer in
          try await handle.readToEnd(maximumSizeAllowed: .bytes(1024))
        }
        let id = String(buffer: bytes).trimmingCharacters(in: .whitespacesAndNewlines)
        if !id.isEmpty { return id }
      }
      let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "node"
      let id = "\(host)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
      try await FileSystem.shared.withFileHandle(
        forWritingAt: FilePath(path), options: .newFile(replaceExisting: true)
      ) { handle in
        _ = try await handle.write(contentsOf: Array((id + "\n").utf8), toAbsoluteOffset: 0)
      }
      return id
    } catch {
      throw UploadError.fromFileSystem(error, while: "keeping the node id in \(path)")
    }
  }
}
