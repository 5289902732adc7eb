import ArgumentParser
import Foundation
import Synchronization
import UploadCore
import UploadProtocol
import UploaderClient

/// Sends the uploads of a batch, `transfers` files at a time over one set of connections, with
/// one progress line for all of them; then prints a summary and exits 1 if any file failed.
///
/// A file that fails (it changed since the batch started, the server refused it) is reported
/// and the others go on; Ctrl-C stops them all, and `uploader resume BATCH` continues.
func sendBatch(
  _ uploads: [JournalUpload], batchID: String, alreadyDone: Int, journal: Journal, global: GlobalOptions,
  output: OutputOptions, sending: SendOptions, transfers: Int
) async throws {
  var global = global
  if let first = uploads.first { global.defaultServer(to: first.server) }
  let display = ProgressDisplay(enabled: output.showsProgress)
  let tally = BatchTally(uploads, alreadyDone: alreadyDone)
  let failures: [(JournalUpload, String)]
  do {
    failures = try await cancellingOnInterrupt { [global] in
      var connection = try global.connection()
      connection.congestionControl = sending.congestion
      return try await connection.withClients(max(sending.connectionCount, transfers)) {
        (clients: [UploadEngine.Client], connections: Connections) in
        // One limiter for the whole batch, however many files run at once, and one batcher: small
        // files share calls.
        var options = engineOptions(global, sending, connections.metadata)
        let batcher = WholeObjectBatcher(clients: clients, connections: connections)
        options.wholeObjectBatcher = batcher
        return try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { await batcher.run() }
          defer { group.cancelAll() }
          return try await sendFiles(
            uploads, clients: clients, options: options, transfers: transfers, journal: journal,
            onEvent: showing(on: display, tally: tally)
          ) { upload in
            tally.finished(upload.id)
          }
        }
      }
    }
  } catch is CancellationError {
    display.finish()
    FileHandle.standardError.write(Data("\ninterrupted; continue with: uploader resume \(batchID)\n".utf8))
    throw ExitCode(130)
  }
  display.finish()
  try await reportBatch(batchID, journal: journal, failures: failures, json: output.json)
  if !failures.isEmpty { throw ExitCode.failure }
}

/// Sends `uploads`, `transfers` at a time; returns those that failed, with why.
private func sendFiles(
  _ uploads: [JournalUpload], clients: [UploadEngine.Client], options: UploadEngine.Options, transfers: Int,
  journal: Journal, onEvent: @escaping @Sendable (JournalUpload, UploadEngine.Event) -> Void,
  finished: @escaping @Sendable (JournalUpload) -> Void
) async throws -> [(JournalUpload, String)] {
  let permits = AsyncSemaphore(permits: transfers)
  let failures = Mutex<[(JournalUpload, String)]>([])
  try await withThrowingDiscardingTaskGroup { group in
    for upload in uploads {
      let added = try await group.addTask(holding: permits) {
        let engine = UploadEngine(clients: clients, journal: journal, options: options) { onEvent(upload, $0) }
        do {
          _ = try await engine.run(upload)
          finished(upload)
        } catch let error as ClientError {
          failures.withLock { $0.append((upload, error.message)) }
        }
      }
      if !added { break }
    }
  }
  return failures.withLock { $0 }
}

/// One progress line for the whole batch, and a line for every retry and reconnection, named
/// by its file.
private func showing(on display: ProgressDisplay, tally: BatchTally) -> @Sendable (JournalUpload, UploadEngine.Event) -> Void {
  let rate = RateMeter()
  return { upload, event in
    if case .progress(let done, _) = event {
      let (files, total) = tally.progress(upload.id, done)
      display.show(files + "  " + ProgressBar.render(done: total, total: tally.totalBytes, bytesPerSecond: rate.record(total)))
    } else {
      announce(event, about: upload.key, on: display)
    }
  }
}

/// Prints the batch's outcome: a line, or JSON with every upload.
private func reportBatch(_ batchID: String, journal: Journal, failures: [(JournalUpload, String)], json: Bool) async throws {
  let uploads = try await journal.uploads(inBatch: batchID)
  let completed = uploads.filter { $0.state == .completed }
  if json {
    struct Batch: Encodable {
      var schema_version = StatusJSON.schemaVersion
      var batch_id: String, files: Int, completed: Int, failed: [Failure], uploads: [StatusJSON]
      struct Failure: Encodable { var id: String, file: String, key: String, error: String }
    }
    let parts = try await journal.partsByUpload()
    let rows = uploads.map { StatusJSON($0, parts: parts[$0.id] ?? []) }
    print(try StatusJSON.json(Batch(
      batch_id: batchID, files: uploads.count, completed: completed.count,
      failed: failures.map { .init(id: $0.0.id, file: $0.0.filePath, key: $0.0.key, error: $0.1) }, uploads: rows)))
    return
  }
  let bytes = completed.reduce(Int64(0)) { $0 + $1.identity.size }
  print("uploaded \(completed.count) of \(uploads.count) files (\(ProgressBar.human(bytes))) [batch \(batchID)]")
  guard !failures.isEmpty else { return }
  FileHandle.standardError.write(Data("\(failures.count) file(s) failed:\n".utf8))
  for (upload, message) in failures {
    FileHandle.standardError.write(Data("  \(upload.filePath) -> \(upload.key): \(message)\n".utf8))
  }
  FileHandle.standardError.write(Data("continue the others with: uploader resume \(batchID)\n".utf8))
}

/// The batch's progress: bytes acknowledged per upload, files done.
private final class BatchTally: Sendable {
  let totalBytes: Int64
  private let fileCount: Int
  private let state: Mutex<(done: [String: Int64], files: Int)>

  init(_ uploads: [JournalUpload], alreadyDone: Int) {
    totalBytes = uploads.reduce(0) { $0 + max(0, $1.identity.size) }
    fileCount = uploads.count + alreadyDone
    state = Mutex(([:], alreadyDone))
  }

  /// Records `done` bytes of `id`; returns the files part of the line and the bytes of all.
  func progress(_ id: String, _ done: Int64) -> (String, Int64) {
    state.withLock { state in
      state.done[id] = done
      return ("files \(state.files)/\(fileCount)", state.done.values.reduce(0, +))
    }
  }

  func finished(_ id: String) {
    state.withLock { $0.files += 1 }
  }
}
