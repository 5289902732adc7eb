import ArgumentParser
import Foundation
import UploadCore
import UploaderClient

struct Upload: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Upload a file.",
    discussion: """
      Records the upload in the journal and starts sending at once, hashing the file as it goes \
      (SHA-256 of every part, declared with the part, and of the whole file); completes the \
      upload once the server's part digests match.

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
      let journal = try global.openJournal()
      let upload = JournalUpload(
        id: String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(10)),
        server: global.serverAddress, sessionID: nil, filePath: path,
        key: key ?? URL(fileURLWithPath: path).lastPathComponent, identity: identity, partSize: plan.partSize,
        state: .pending, createdAt: Int64(Date().timeIntervalSince1970 * 1000))
      let parts = (0..<plan.partCount).map { JournalPart(number: $0 + 1, size: plan.size(ofPart: $0 + 1)) }
      try await journal.insert(upload, parts: parts)
      try await send(upload, journal: journal, global: global, output: output, sending: sending, display: display)
    }
  }
}
