import ArgumentParser
import Foundation
import UploadCore
import UploaderClient

struct Upload: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Upload a file.",
    discussion: """
      Hashes the file (SHA-256 of every part and of the whole), records the upload in the \
      journal, then sends it and completes it once the server's part digests match.

      Examples:
        uploader upload video.mp4
        uploader upload db.dump --key backups/db.dump --part-size 64MiB --parallel 8
        uploader upload big.iso --limit-rate 20MiB --json
      """)

  @OptionGroup var global: GlobalOptions
  @Argument(help: "The file to upload.") var file: String
  @Option(help: "The object key. (default: the file's base name)") var key: String?
  @Option(help: "Part size, such as 8MiB or 64MiB; at least 5MiB. (default: 8MiB, larger for files past 80 GiB)")
  var partSize: String?
  @OptionGroup(title: "Sending") var sending: SendOptions
  @OptionGroup var output: OutputOptions

  func validate() throws {
    if let partSize, ByteSize.parse(partSize) == nil {
      throw ValidationError("--part-size \"\(partSize)\" is not a size such as 8MiB")
    }
  }

  func run() async throws {
    try await reportingErrors {
      let path = URL(fileURLWithPath: file).standardizedFileURL.path
      let identity = try await LocalFile.identity(of: path)
      let plan: PartPlan
      do {
        plan = try PartPlan.make(
          size: identity.size, requestedPartSize: partSize.flatMap(ByteSize.parse) ?? 0,
          maximumObjectSize: PartSizing.maximumObjectSize)
      } catch let error as UploadError {
        throw ValidationError(error.message)
      }
      let display = ProgressDisplay(enabled: output.showsProgress)
      let digests = try await LocalFile.digests(of: path, plan: plan) { done in
        display.show("hashing " + ProgressBar.render(done: done, total: identity.size, bytesPerSecond: nil))
      }
      let journal = try global.openJournal()
      let upload = JournalUpload(
        id: String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(10)),
        server: global.serverAddress, sessionID: nil, filePath: path,
        key: key ?? URL(fileURLWithPath: path).lastPathComponent, identity: identity, partSize: plan.partSize,
        state: .pending, sha256: digests.whole, createdAt: Int64(Date().timeIntervalSince1970 * 1000))
      let parts = digests.parts.enumerated().map { index, digest in
        JournalPart(number: index + 1, size: plan.size(ofPart: index + 1), sha256: digest, acknowledgedBytes: 0, committed: false)
      }
      try await journal.insert(upload, parts: parts)
      try await send(upload, journal: journal, global: global, output: output, sending: sending, display: display)
    }
  }
}
