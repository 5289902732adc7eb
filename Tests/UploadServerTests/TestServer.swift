import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import TestSupport
import UploadCore
import UploadProtocol
import UploadServer

typealias UploaderClient = Uploader_FileUploader.Client<HTTP2ClientTransport.Posix>
typealias SessionsClient = Uploader_V1_ResumableUploads.Client<HTTP2ClientTransport.Posix>

/// A temporary data directory, removed by `remove()`.
struct TemporaryDirectory {
  let path: String

  init() throws {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("uploader-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  func remove() { try? FileManager.default.removeItem(atPath: path) }

  /// Regular files under `relative`, recursively, as paths relative to it.
  func files(under relative: String) -> [String] {
    let root = path + "/" + relative
    guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
    return enumerator.compactMap { $0 as? String }.filter { item in
      var isDirectory: ObjCBool = false
      return FileManager.default.fileExists(atPath: root + "/" + item, isDirectory: &isDirectory) && !isDirectory.boolValue
    }.sorted()
  }
}

/// A configuration for tests: port 0, small parts (5 MiB) so a few MiB make several parts.
func testConfiguration(dataDirectory: String) -> ServerConfiguration {
  var configuration = ServerConfiguration()
  configuration.port = 0
  configuration.dataDirectory = dataDirectory
  configuration.sessions.streamingPartSize = PartSizing.minimumPartSize
  return configuration
}

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Runs a real server on a loopback port and a real client connected to it.
func withServer<T: Sendable>(
  _ configuration: ServerConfiguration,
  _ body: (UploaderClient, UploaderServer) async throws -> T
) async throws -> T {
  try await withServerAndClient(configuration) { client, server in
    try await body(UploaderClient(wrapping: client), server)
  }
}

/// Runs a real server on a loopback port and a resumable-uploads client connected to it.
func withSessionsServer<T: Sendable>(
  _ configuration: ServerConfiguration,
  _ body: (SessionsClient, UploaderServer) async throws -> T
) async throws -> T {
  try await withServerAndClient(configuration) { client, server in
    try await body(SessionsClient(wrapping: client), server)
  }
}

private func withServerAndClient<T: Sendable>(
  _ configuration: ServerConfiguration,
  _ body: (GRPCClient<HTTP2ClientTransport.Posix>, UploaderServer) async throws -> T
) async throws -> T {
  try await withRunningServer(configuration) { server in
    try await withClient(of: server, token: nil) { client in try await body(client, server) }
  }
}

struct ProducerGaveUp: Error {}

extension UploaderClient {
  /// Uploads `bytes` as `filename` in `chunkSize` messages (at least one message, so an empty
  /// file still names its key). With `giveUpAfter`, the client fails mid-stream instead, once
  /// `beforeGivingUp` returns (a test waits there for evidence that the server holds something).
  func upload(
    _ bytes: [UInt8], as filename: String, chunkSize: Int = 1 << 20, giveUpAfter: Int? = nil,
    beforeGivingUp: @escaping @Sendable () async throws -> Void = {}
  ) async throws -> Uploader_UploadResponse {
    try await upload { writer in
      var offset = 0
      repeat {
        if let giveUpAfter, offset >= giveUpAfter {
          try await beforeGivingUp()
          throw ProducerGaveUp()
        }
        let end = min(offset + chunkSize, bytes.count)
        try await writer.write(.with {
          $0.filename = filename
          $0.chunk = Data(bytes[offset..<end])
        })
        offset = end
      } while offset < bytes.count
    }
  }
}

/// Waits until `condition` holds, for at most `seconds`.
func eventually(seconds: Double = 60, _ condition: () async throws -> Bool) async throws -> Bool {
  let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
  while ContinuousClock.now < deadline {
    if try await condition() { return true }
    try await Task.sleep(for: .milliseconds(50))
  }
  return try await condition()
}
