import ArgumentParser
import UploadCore
import UploaderClient

struct Resume: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Continue an interrupted upload.",
    discussion: """
      Refuses a file whose size, modification time or inode changed, and checks the digests of \
      every part the server already holds against the journal before sending anything.

      Examples:
        uploader resume 3f9a1c2b7e
        uploader resume 3f9a1c2b7e --parallel 8 --json
      """)

  @OptionGroup var global: GlobalOptions
  @Argument(help: "The upload's id (from `uploader status`), or its server session id.") var id: String
  @OptionGroup(title: "Sending") var sending: SendOptions
  @OptionGroup var output: OutputOptions

  func run() async throws {
    try await reportingErrors {
      let journal = try global.openJournal()
      guard let upload = try await journal.upload(id) else {
        throw ClientError("no upload \(id) in the journal at \(global.stateDirectory); see `uploader status`")
      }
      switch upload.state {
      case .completed:
        // Nothing left to do: say so and succeed, so `upload || resume` scripts stay simple.
        if output.json {
          print(try StatusJSON.json(StatusJSON(upload, parts: try await journal.parts(of: upload.id))))
        } else {
          print("upload \(upload.id) is already completed (\(upload.key), sha256 \(upload.sha256?.hex ?? "unknown"))")
        }
        return
      case .aborted: throw ClientError("upload \(upload.id) was aborted; start a new one")
      case .expired: throw ClientError("upload \(upload.id) expired on the server; start a new one")
      case .pending, .uploading, .failed: break
      }
      if upload.readsStandardInput {
        throw ClientError(
          "upload \(upload.id) read standard input, which cannot be read again; clean it up with: uploader abort \(upload.id)")
      }
      try await send(
        upload, journal: journal, global: global, output: output, sending: sending, display: ProgressDisplay(enabled: output.showsProgress))
    }
  }
}
