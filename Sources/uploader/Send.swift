import ArgumentParser
import Foundation
import Synchronization
import UploadCore
import UploaderClient

/// Runs the engine for `upload`: progress on the terminal, Ctrl-C leaves the journal consistent
/// and says how to resume, the result printed as text or JSON.
func send(
  _ upload: JournalUpload, journal: Journal, global: GlobalOptions, output: OutputOptions, sending: SendOptions,
  display: ProgressDisplay
) async throws {
  var global = global
  if global.server == nil, ProcessInfo.processInfo.environment["UPLOADER_SERVER"] == nil {
    global.server = upload.server
  }
  let rate = RateMeter()
  let session = try await withSessionsClients(global, connections: sending.connectionCount) { clients, metadata in
    var options = UploadEngine.Options()
    options.parallel = sending.parallel
    options.rateLimit = sending.rateLimit
    options.metadata = metadata
    options.server = global.serverAddress
    let engine = UploadEngine(clients: clients, journal: journal, options: options) { event in
      switch event {
      case .progress(let done, let total):
        display.show(ProgressBar.render(done: done, total: total, bytesPerSecond: rate.record(done)))
      case .retrying(let delay, let attempt, let reason):
        display.finish()
        FileHandle.standardError.write(
          Data("\(reason); retrying in \(String(format: "%.1f", delay.inSeconds)) s (attempt \(attempt))\n".utf8))
      }
    }
    return try await interruptible(upload) { try await engine.run(upload) }
  }
  display.finish()
  let finished = try await journal.upload(upload.id) ?? upload
  if output.json {
    print(try StatusJSON.json(StatusJSON(finished, parts: try await journal.parts(of: upload.id))))
  } else {
    print("uploaded \(upload.filePath) to \(session.key) (\(upload.identity.size) bytes, sha256 \(finished.sha256?.hex ?? "unknown")) [\(upload.id)]")
  }
}

/// Runs `body`; Ctrl-C (SIGINT) cancels it, then tells the user how to continue.
private func interruptible<T: Sendable>(_ upload: JournalUpload, _ body: @escaping @Sendable () async throws -> T)
  async throws -> T
{
  let task = Task { try await body() }
  signal(SIGINT, SIG_IGN)
  let source = DispatchSource.makeSignalSource(signal: SIGINT)
  source.setEventHandler { task.cancel() }
  source.resume()
  defer {
    source.cancel()
    signal(SIGINT, SIG_DFL)
  }
  do {
    return try await task.value
  } catch is CancellationError {
    FileHandle.standardError.write(Data("\ninterrupted; continue with: uploader resume \(upload.id)\n".utf8))
    throw ExitCode(130)
  }
}

/// The average rate since the first acknowledgement.
private final class RateMeter: Sendable {
  private let first = Mutex<(ContinuousClock.Instant, Int64)?>(nil)

  func record(_ done: Int64) -> Double? {
    let now = ContinuousClock.now
    return first.withLock { first -> Double? in
      guard let (start, base) = first else {
        first = (now, done)
        return nil
      }
      let elapsed = start.duration(to: now)
      let seconds = elapsed.inSeconds
      return seconds > 0.2 ? Double(done - base) / seconds : nil
    }
  }
}

/// Prints `ClientError`s as `uploader: message` and exits 1.
func reportingErrors(_ body: () async throws -> Void) async throws {
  do {
    try await body()
  } catch let error as ClientError {
    FileHandle.standardError.write(Data("uploader: \(error.message)\n".utf8))
    throw ExitCode.failure
  }
}
