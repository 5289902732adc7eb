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
  @Option(help: "Parts sent at the same time, each on its own connection; more help on long or lossy links.") var parallel = 4
  @Option(help: "At most this many bytes per second, such as 512KiB or 20MiB.") var limitRate: String?
  @OptionGroup var output: OutputOptions

  func validate() throws {
    if let limitRate, (ByteSize.parse(limitRate) ?? 0) <= 0 {
      throw ValidationError("--limit-rate \"\(limitRate)\" is not a rate such as 20MiB (per second)")
    }
    guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be from 1 to 64") }
  }

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
          print("upload \(upload.id) is already completed (\(upload.key), sha256 \(upload.sha256.hex))")
        }
        return
      case .aborted: throw ClientError("upload \(upload.id) was aborted; start a new one")
      case .expired: throw ClientError("upload \(upload.id) expired on the server; start a new one")
      case .pending, .uploading, .failed: break
      }
      try await send(
        upload, journal: journal, global: global, output: output, parallel: parallel,
        rateLimit: limitRate.flatMap(ByteSize.parse), display: ProgressDisplay(enabled: output.showsProgress))
    }
  }
}
