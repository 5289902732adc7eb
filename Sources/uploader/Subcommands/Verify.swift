import ArgumentParser
import Foundation
import GRPCCore
import UploadCore
import UploadProtocol
import UploaderClient

struct Verify: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Have the server read a completed object back and check its SHA-256.",
    discussion: """
      The server streams the object back from its store (S3 or the local directory), hashes it \
      and compares the digest with the one the upload recorded. A match stamps the object with \
      it (x-amz-meta-sha256), so anyone can check a later download; a mismatch exits 1 and the \
      object does not claim the digest. It costs one read of the object on the server.

      Examples:
        uploader verify 3f9a1c2b7e
        uploader verify 0f1e2d3c4b5a69788796a5b4c3d2e1f0 --json
      """)

  @OptionGroup var global: GlobalOptions
  @Argument(help: "An upload's id (from `uploader status`), or a server session id.") var id: String
  @Flag(help: "Print the verdict as JSON.") var json = false

  func run() async throws {
    try await reportingErrors {
      var global = global
      var sessionID = id
      if let upload = try await global.existingJournal()?.upload(id) {
        guard let id = upload.sessionID, upload.state == .completed else {
          throw ClientError("upload \(upload.id) is \(upload.state.rawValue); only a completed upload can be verified")
        }
        sessionID = id
        global.defaultServer(to: upload.server)
      } else if !GlobalOptions.isSessionID(id) {
        throw global.unknownUpload(id)
      }
      let session: Uploader_V1_Session
      do {
        session = try await withSessionsClient(global) { client, metadata in
          try await client.verifySession(.with { $0.sessionID = sessionID }, metadata: metadata)
        }
      } catch let error as RPCError where error.code == .dataLoss || error.code == .failedPrecondition || error.code == .notFound {
        throw ClientError(error.message)
      } catch {
        throw ClientError("the server at \(global.serverAddress) did not verify session \(sessionID): \(UploadFailure.describe(error)); try again")
      }
      if json {
        struct Verdict: Encodable {
          var schema_version = StatusJSON.schemaVersion
          var session_id: String, key: String, sha256: String, verified_sha256: String, verified: Bool
        }
        print(try StatusJSON.json(Verdict(
          session_id: session.id, key: session.key, sha256: Hex.encode(session.sha256),
          verified_sha256: Hex.encode(session.verifiedSha256),
          verified: session.isVerified)))
      } else {
        print("verified \(session.key): the object read back has sha256 \(Hex.encode(session.verifiedSha256)), as uploaded")
      }
    }
  }
}
