import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TestSupport
import UploadCore

@testable import UploadServer

/// The tus door on a real server over loopback, looked at from the engine's side.
@Suite struct TusServiceTests {
  private func tusConfiguration(_ directory: TemporaryDirectory) -> ServerConfiguration {
    var configuration = testConfiguration(dataDirectory: directory.path)
    configuration.httpHost = "127.0.0.1"
    return configuration
  }

  private func send(
    _ client: HTTPClient, _ method: HTTPMethod, _ url: String, headers: [(String, String)], body: [UInt8] = []
  ) async throws -> HTTPClientResponse {
    var request = HTTPClientRequest(url: url)
    request.method = method
    request.headers.add(name: "Tus-Resumable", value: "1.0.0")
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if !body.isEmpty || method == .PATCH { request.body = .bytes(ByteBuffer(bytes: body)) }
    let response = try await client.execute(request, timeout: .seconds(60))
    _ = try await response.body.collect(upTo: 1 << 20)
    return response
  }

  @Test func aPatchAnswersOnlyOnceItsBytesAreDurableAndTheLastOneCompletes() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    try await withRunningServer(tusConfiguration(directory)) { server in
      let address = try #require(await server.httpListeningAddress)
      let root = "http://\(address.host):\(address.port)/files/"
      let client = HTTPClient(eventLoopGroupProvider: .singleton)
      defer { _ = client.shutdown() }
      let bytes = randomBytes(9 << 20, seed: 29)
      let created = try await send(
        client, .POST, root,
        headers: [("Upload-Length", String(bytes.count)), ("Upload-Metadata", "key " + Data("t/durable.bin".utf8).base64EncodedString())])
      #expect(created.status == .created)
      let location = try #require(created.headers.first(name: "location"))
      let id = try SessionID(validating: String(location.split(separator: "/").last ?? ""))

      var offset = 0
      for end in [3 << 20, 8 << 20 + 5, bytes.count] {
        let patched = try await send(
          client, .PATCH, location,
          headers: [("Upload-Offset", String(offset)), ("Content-Type", "application/offset+octet-stream")],
          body: Array(bytes[offset..<end]))
        #expect(patched.status == .noContent)
        #expect(patched.headers.first(name: "upload-offset") == String(end))
        offset = end
        if end < bytes.count {
          // The answer came after the bytes were recorded: the store already holds them.
          let parts = try await server.sessions.parts(of: id)
          let durable = parts.reduce(Int64(0)) { $0 + $1.receivedBytes }
          #expect(durable == Int64(end))
        }
      }
      let session = try await server.sessions.session(id, owner: .anonymous)
      #expect(session.state == .completed && session.origin == .tus)
      #expect(session.plan.size == Int64(bytes.count))
    }
  }
}
