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
      upload once the server's part digests match. With --verify the server then reads the \
      object back and checks it against the file's SHA-256 before the upload counts as done.

      With - as the file, reads standard input, whose size is not known in advance (--key is \
      then required). Parts grow as the stream does, so up to 5 TiB fit. While uploader runs it \
      reconnects by itself and sends again what the server had not acknowledged (it keeps at \
      most the server's acknowledgement interval plus one chunk for that); standard input cannot \
      be read twice, so an upload whose uploader died cannot be resumed: abort it.

      Examples:
        uploader upload video.mp4
        pg_dump mydb | uploader upload - --key backups/mydb.sql
        uploader upload db.dump --key backups/db.dump --part-size 64MiB --parallel 8
        uploader upload big.iso --limit-rate 20MiB --json
        uploader upload clip.mov --metadata camera=north-7 --metadata take=3 --verify
      """)

  @OptionGroup var global: GlobalOptions
  @Argument(help: "The file to upload; - reads standard input.") var file: String
  @Option(help: "The object key. (default: the file's base name; required with -)") var key: String?
  @Option(help: "Part size, such as 8MiB or 64MiB; at least 5MiB. (default: 8MiB, larger for files past 80 GiB)")
  var partSize: String?
  @OptionGroup(title: "Object") var object: ObjectOptions
  @OptionGroup(title: "Sending") var sending: SendOptions
  @OptionGroup var output: OutputOptions

  func validate() throws {
    if let partSize, ByteSize.parse(partSize) == nil {
      throw ValidationError("--part-size \"\(partSize)\" is not a size such as 8MiB")
    }
    if file == JournalUpload.standardInput, key == nil {
      throw ValidationError("reading standard input needs --key: there is no file name to use")
    }
  }

  func run() async throws {
    try await reportingErrors {
      if file == JournalUpload.standardInput {
        try await uploadStandardInput()
        return
      }
      let display = ProgressDisplay(enabled: output.showsProgress)
      let journal = try global.openJournal()
      let upload: JournalUpload
      do {
        upload = try await journal.record(
          file: file, key: key, server: global.serverAddress, partSize: partSize.flatMap(ByteSize.parse) ?? 0,
          attributes: try object.attributes(forFileName: file), verify: object.verify)
      } catch let error as UploadError {
        throw ValidationError(error.message)
      }
      try await send(upload, journal: journal, global: global, output: output, sending: sending, display: display)
    }
  }

  /// `uploader upload - --key K`: a session of unknown size fed from standard input.
  private func uploadStandardInput() async throws {
    let requested = partSize.flatMap(ByteSize.parse) ?? 0
    if case .failure(let error) = Result(catching: { () throws(UploadError) in try PartPlan.open(requestedPartSize: requested) }) {
      throw ValidationError(error.message)
    }
    let journal = try global.openJournal()
    let upload = JournalUpload(
      id: Journal.newUploadID(), server: global.serverAddress, sessionID: nil, filePath: JournalUpload.standardInput,
      key: key ?? "", identity: FileIdentity(size: -1, modificationTimeNanoseconds: 0, inode: 0),
      partSize: requested, attributes: try object.attributes(forFileName: nil), verify: object.verify, state: .pending,
      createdAt: Int64(Date().timeIntervalSince1970 * 1000))
    try await journal.insert(upload, parts: [])
    try await sendStream(
      upload, input: StandardInput(), journal: journal, global: global, output: output, sending: sending,
      display: ProgressDisplay(enabled: output.showsProgress))
  }
}
