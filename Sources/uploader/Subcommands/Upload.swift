import ArgumentParser
import Foundation
import UploadCore
import UploaderClient

struct Upload: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Upload a file, standard input, or every file under a directory.",
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

      With a directory, uploads every regular file under it (symbolic links are skipped unless \
      --follow-symlinks; --include and --exclude filter), each as its own upload, --transfers at \
      a time, with one progress line. They form a batch: `uploader status` shows it, and \
      `uploader resume BATCH` continues every unfinished file after any interruption; a file \
      that changed since is reported and skipped. The exit status is 1 if any file failed.

      Examples:
        uploader upload video.mp4
        pg_dump mydb | uploader upload - --key backups/mydb.sql
        uploader upload db.dump --key backups/db.dump --part-size 64MiB --parallel 8
        uploader upload big.iso --limit-rate 20MiB --json
        uploader upload clip.mov --metadata camera=north-7 --metadata take=3 --verify
        uploader upload photos/ --key-prefix trips/2026/ --exclude '*.tmp'
      """)

  @OptionGroup var global: GlobalOptions
  @Argument(help: "The file to upload; - reads standard input; a directory uploads the files under it.")
  var file: String
  @OptionGroup(title: "Object") var object: ObjectOptions
  @OptionGroup(title: "Directories") var directory: DirectoryOptions
  @OptionGroup(title: "Advanced") var parts: PartSizeOption
  @OptionGroup(title: "Advanced") var sending: SendOptions
  @OptionGroup var output: OutputOptions

  var key: String? { object.key }
  var partSize: String? { parts.partSize }

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
      if await LocalFile.isDirectory(file) {
        try await uploadDirectory()
        return
      }
      if directory.isUsed {
        throw ValidationError("--key-prefix, --include, --exclude, --follow-symlinks and --transfers are for a directory; \(file) is a file")
      }
      let display = ProgressDisplay(enabled: output.showsProgress)
      let journal = try global.openJournal()
      let upload: JournalUpload
      do {
        upload = try await journal.record(
          file: file, key: key, server: global.serverAddress, partSize: partSize.flatMap(ByteSize.parse) ?? 0,
          spreadOver: sending.adapts ? sending.connectionLimit : 1,
          attributes: try object.attributes(forFileName: file), verify: object.verify, sending: sending.choices)
      } catch let error as UploadError {
        throw ValidationError(error.message)
      }
      try await send(upload, journal: journal, global: global, output: output, sending: sending, display: display)
    }
  }

  /// `uploader upload DIR`: an upload per file, recorded as one batch, then sent.
  private func uploadDirectory() async throws {
    if key != nil { throw ValidationError("--key names one object; for a directory give --key-prefix") }
    let root = URL(fileURLWithPath: file).standardizedFileURL.path
    let listing = try await DirectoryListing.list(root, filter: directory.filter, followSymlinks: directory.followSymlinks)
    let prefix = directory.keyPrefix ?? (URL(fileURLWithPath: root).lastPathComponent + "/")
    var notes: [String] = []
    if !listing.skippedSymlinks.isEmpty {
      let count = listing.skippedSymlinks.count
      notes.append("skipped \(count) symbolic link\(count == 1 ? "" : "s") (--follow-symlinks follows them)")
    }
    if !listing.skippedOther.isEmpty {
      let count = listing.skippedOther.count
      notes.append("skipped \(count) \(count == 1 ? "entry that is not a regular file" : "entries that are not regular files"): \(listing.skippedOther.prefix(5).joined(separator: ", "))")
    }
    guard !listing.files.isEmpty else {
      throw ClientError("no files to upload under \(file)\(notes.isEmpty ? "" : "; " + notes.joined(separator: "; "))")
    }
    let journal = try global.openJournal()
    let batchID = Journal.newBatchID()
    var planned: [(upload: JournalUpload, parts: [JournalPart])] = []
    let identities = try await LocalFile.identities(of: listing.files.map(\.path))
    for (entry, identity) in zip(listing.files, identities) {
      do {
        planned.append(
          try await Journal.plan(
            file: entry.path, key: prefix + entry.relativePath, server: global.serverAddress,
            partSize: partSize.flatMap(ByteSize.parse) ?? 0, attributes: try object.attributes(forFileName: entry.path),
            verify: object.verify, sending: sending.choices, batchID: batchID, identity: try identity.get()))
      } catch let error as UploadError {
        throw ValidationError("\(entry.path): \(error.message)")
      }
    }
    // The batch is recorded whole, in one transaction, or not at all.
    try await journal.insert(planned)
    let uploads = planned.map(\.upload)
    let bytes = uploads.reduce(Int64(0)) { $0 + $1.identity.size }
    FileHandle.standardError.write(
      Data("batch \(batchID): \(uploads.count) files, \(ProgressBar.human(bytes))\(notes.map { "; " + $0 }.joined())\n".utf8))
    try await sendBatch(
      uploads, batchID: batchID, alreadyDone: 0, journal: journal, global: global, output: output, sending: sending,
      transfers: directory.transfers ?? TransferCount.automatic(fileSizes: uploads.map(\.identity.size)))
  }

  /// `uploader upload - --key K`: a session of unknown size fed from standard input.
  private func uploadStandardInput() async throws {
    let requested = partSize.flatMap(ByteSize.parse) ?? 0
    if case .failure(let error) = Result(catching: { () throws(UploadError) in try PartPlan.open(requestedPartSize: requested) }) {
      throw ValidationError(error.message)
    }
    if case .failure(let error) = Result(catching: { () throws(UploadError) in try ObjectKey(validating: key ?? "") }) {
      throw ValidationError(error.message)
    }
    let journal = try global.openJournal()
    let upload = JournalUpload(
      id: Journal.newUploadID(), server: global.serverAddress, sessionID: nil, filePath: JournalUpload.standardInput,
      key: key ?? "", identity: FileIdentity(size: -1, modificationTimeNanoseconds: 0, inode: 0),
      partSize: requested, attributes: try object.attributes(forFileName: nil), verify: object.verify,
      sending: sending.choices, state: .pending,
      createdAt: Int64(Date().timeIntervalSince1970 * 1000))
    try await journal.insert(upload, parts: [])
    try await sendStream(
      upload, input: StandardInput(), journal: journal, global: global, output: output, sending: sending,
      display: ProgressDisplay(enabled: output.showsProgress))
  }
}
