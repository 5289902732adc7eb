import ArgumentParser
import Foundation
import UploaderClient

struct Forget: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Remove finished uploads from the journal (nothing changes on the server).",
    discussion: """
      Forgets one upload that is not in progress (completed, aborted, failed or expired, or \
      never started on a server), or with --finished every completed, aborted, failed or \
      expired one. An upload in progress is kept: resume it, or abort it first.

      Examples:
        uploader forget 3f9a1c2b7e
        uploader forget --finished
      """)

  @OptionGroup var global: GlobalOptions
  @Argument(help: "The upload's id (from `uploader status`), or its server session id.") var id: String?
  @Flag(help: "Forget every completed, aborted, failed or expired upload.") var finished = false

  func validate() throws {
    guard (id == nil) != (finished == false) else {
      throw ValidationError(id == nil ? "name an upload to forget, or give --finished" : "give an id or --finished, not both")
    }
  }

  func run() async throws {
    try await reportingErrors {
      let journal = try global.existingJournal()
      if let id {
        let upload = try await global.upload(id, in: journal)
        guard Self.isFinished(upload) || (upload.state == .pending && upload.sessionID == nil) else {
          throw ClientError(
            "upload \(upload.id) is in progress (\(upload.state.rawValue)); continue it with `uploader resume \(upload.id)`, or give it up with `uploader abort \(upload.id)` first")
        }
        try await journal?.delete(upload.id)
        print("forgot \(upload.id) (\(upload.key), \(upload.state.rawValue))")
        return
      }
      let done = try await journal?.uploads().filter(Self.isFinished) ?? []
      for upload in done { try await journal?.delete(upload.id) }
      print("forgot \(done.count) finished upload\(done.count == 1 ? "" : "s")")
    }
  }

  /// Whether nothing more can happen to `upload`.
  static func isFinished(_ upload: JournalUpload) -> Bool {
    [.completed, .aborted, .failed, .expired].contains(upload.state)
  }
}
