import Foundation
import Testing
import UploadCore
@testable import UploaderClient

/// What `Uploader` decides before it talks to a server: nothing here needs one.
@Suite struct UploaderTests {
  func withUploader(_ body: (Uploader, String) async throws -> Void) async throws {
    let directory = NSTemporaryDirectory() + "uploader-tests-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    // Port 1: nothing listens, and nothing here may try.
    try await body(try Uploader(connection: ServerConnection(server: "127.0.0.1:1"), stateDirectory: directory), directory)
  }

  @Test func badMetadataIsRefusedBeforeAnythingIsRecorded() async throws {
    try await withUploader { uploader, directory in
      let file = directory + "/clip.mp4"
      try Data("bytes".utf8).write(to: URL(fileURLWithPath: file))
      await #expect(throws: UploadError.self) {
        _ = try await uploader.upload(file: file, options: UploadOptions(metadata: ["Camera": "x"]))
      }
      #expect(try await uploader.journal.uploads().isEmpty)
    }
  }

  @Test func aCompletedUploadIsNotResumedOrAborted() async throws {
    try await withUploader { uploader, directory in
      let file = directory + "/notes.txt"
      try Data("bytes".utf8).write(to: URL(fileURLWithPath: file))
      let upload = try await uploader.journal.record(file: file, key: nil, server: "127.0.0.1:1")
      #expect(upload.key == "notes.txt")
      try await uploader.journal.finish(upload.id, state: .completed, at: 1)
      await #expect { _ = try await uploader.resume(upload.id) } throws: { error in
        (error as? ClientError)?.message.contains("is completed; it cannot be resumed") == true
      }
      await #expect { try await uploader.abort(upload.id) } throws: { error in
        (error as? ClientError)?.message.contains("nothing to abort") == true
      }
      await #expect { _ = try await uploader.status("nope") } throws: { error in
        (error as? ClientError)?.message == "no upload nope in the journal"
      }
    }
  }

  @Test func serverAddressesAreChecked() {
    #expect(throws: ClientError.self) { try ServerConnection(server: "no-port") }
    #expect(throws: ClientError.self) { try ServerConnection(server: "10.0.0.1:1,name:2") }
    #expect((try? ServerConnection(server: "10.0.0.1:1, 10.0.0.2:2"))?.description == "10.0.0.1:1,10.0.0.2:2")
  }
}
