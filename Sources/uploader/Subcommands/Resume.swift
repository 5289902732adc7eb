import Foundation
import ArgumentParser
import UploadCore
import UploaderClient

struct Resume: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Continue an interrupted upload, or every unfinished upload of a batch.",
    discussion: """
      Refuses a file whose size, modification time or inode changed, and checks the digests of \
      every part the server already holds against the journal before sending anything. It sends \
      to the server the upload was started with, and the way it was started: the sending \
      options given then (such as --limit-rate) are kept, options given here win, and --server \
      moves the upload to another server for good. Given a \
      batch (from `uploader upload DIR`), continues each of its files not yet completed, \
      --transfers at a time; a file that changed is reported and skipped, and the exit status \
      is 1 if any file failed.

      Examples:
        uploader resume 3f9a1c2b7e
        uploader resume 3f9a1c2b7e --server 10.0.0.7:50051
        uploader resume 3f9a1c2b7e --limit-rate 5MiB --json
        uploader resume b5e0c41d9a7
      """)

  @OptionGroup var global: GlobalOptions
  @Argument(help: "The upload's id (from `uploader status`), its server session id, or a batch id.") var id: String
  @Option(help: "For a batch: files sent at the same time, from 1 to 64. (default: by the files' size, as for upload)")
  var transfers: Int?
  @OptionGroup(title: "Advanced") var sending: SendOptions
  @OptionGroup var output: OutputOptions

  func run() async throws {
    try await reportingErrors {
      let journal = try global.openJournal()
      guard var upload = try await journal.upload(id) else {
        let batch = try await journal.uploads(inBatch: id)
        guard !batch.isEmpty else { throw global.unknownUpload(id) }
        try await resumeBatch(batch, journal: journal)
        return
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
      // The way it was started, unless told otherwise here; --server moves it for good.
      let sending = sending.over(upload.sending)
      let server = global.server ?? upload.server
      var reaching = global
      reaching.defaultServer(to: server)
      if server != upload.server || sending.choices != upload.sending {
        try await journal.resend(upload.id, server: server, sending: sending.choices)
        (upload.server, upload.sending) = (server, sending.choices)
      }
      let acknowledged = try await journal.parts(of: upload.id).reduce(Int64(0)) { $0 + $1.acknowledgedBytes }
      if !output.json {
        let limit = sending.rateLimit.map { ", at most \(ProgressBar.human($0))/s" } ?? ""
        FileHandle.standardError.write(Data(
          "resuming \(upload.id) at \(ProgressBar.human(acknowledged)) of \(ProgressBar.human(upload.identity.size)), to \(reaching.serverAddress)\(limit)\n".utf8))
      }
      try await send(
        upload, journal: journal, global: global, output: output, sending: sending, display: ProgressDisplay(enabled: output.showsProgress))
    }
  }

  /// Continues every unfinished upload of a batch.
  private func resumeBatch(_ batch: [JournalUpload], journal: Journal) async throws {
    if let transfers, !TransferCount.allowed.contains(transfers) {
      throw ValidationError("--transfers must be from 1 to 64")
    }
    let unfinished = batch.filter { [.pending, .uploading, .failed].contains($0.state) }
    let done = batch.filter { $0.state == .completed }.count
    guard !unfinished.isEmpty else {
      print("batch \(id): \(done) of \(batch.count) files completed, none left to resume")
      return
    }
    FileHandle.standardError.write(
      Data("batch \(id): \(done) of \(batch.count) files completed; resuming \(unfinished.count)\n".utf8))
    // The files of a batch were started together, the same way.
    try await sendBatch(
      unfinished, batchID: id, alreadyDone: done, journal: journal, global: global, output: output,
      sending: sending.over(unfinished[0].sending),
      transfers: transfers ?? TransferCount.automatic(fileSizes: unfinished.map(\.identity.size)))
  }
}
