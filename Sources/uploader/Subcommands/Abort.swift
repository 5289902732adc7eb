import ArgumentParser
import Foundation
import UploaderClient

struct Abort: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Abort an upload: the server discards what it received.",
    discussion: """
      Examples:
        uploader abort 3f9a1c2b7e
      """)

  @OptionGroup var global: GlobalOptions
  @Argument(help: "The upload's id (from `uploader status`), or its server session id.") var id: String

  func run() async throws {
    try await reportingErrors {
      let journal = try global.existingJournal()
      let upload = try await global.upload(id, in: journal)
      guard upload.state != .completed else { throw ClientError("upload \(upload.id) is completed; nothing to abort") }
      if let sessionID = upload.sessionID {
        var global = global
        global.defaultServer(to: upload.server)
        do {
          _ = try await withSessionsClient(global) { client, metadata in
            try await client.abortSession(.with { $0.sessionID = sessionID }, metadata: metadata)
          }
        } catch {
          throw ClientError("the server at \(global.serverAddress) did not abort session \(sessionID): \(UploadFailure.describe(error)); try again")
        }
      }
      try await journal?.finish(upload.id, state: .aborted, at: Int64(Date().timeIntervalSince1970 * 1000))
      print("aborted \(upload.id) (\(upload.key))")
    }
  }
}
