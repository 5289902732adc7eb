import ArgumentParser
import Foundation
import GRPCCore
import Synchronization
import UploadCore
import UploadProtocol
import UploaderClient

/// Runs the engine for `upload`: progress on the terminal, Ctrl-C leaves the journal consistent
/// and says how to resume, the result printed as text or JSON.
func send(
  _ upload: JournalUpload, journal: Journal, global: GlobalOptions, output: OutputOptions, sending: SendOptions,
  display: ProgressDisplay
) async throws {
  var global = global
  global.defaultServer(to: upload.server)
  var connection = try global.connection()
  connection.congestionControl = sending.congestion
  let transport = TransportTally(starting: sending.startingStreams)
  let onEvent = showing(on: display, transport: transport, verbose: output.verbose)
  let (session, sockets) = try await connection.withConnections { connections in
    let options = engineOptions(global, sending, connections.metadata)
    let engine =
      sending.adapts
      ? UploadEngine(connections: connections, journal: journal, options: options, onEvent: onEvent)
      : UploadEngine(
        clients: try (0..<sending.connectionCount).map { try connections.client($0) }, journal: journal,
        options: options, onEvent: onEvent)
    let session = try await interruptible(upload, journal: journal) { try await engine.run(upload) }
    return (session, connections.sockets.report)
  }
  transport.finish(sockets)
  if output.verbose { display.finish(); transport.describe() }
  try await report(session, upload, journal: journal, output: output, display: display, transport: transport)
}

/// Runs the stream engine for `upload -`, with the same display, interruption and result as `send`.
func sendStream(
  _ upload: JournalUpload, input: any ByteSource, journal: Journal, global: GlobalOptions, output: OutputOptions,
  sending: SendOptions, display: ProgressDisplay
) async throws {
  let session = try await withSessionsClient(global) { client, metadata in
    let engine = StreamUploadEngine(
      client: client, journal: journal, options: engineOptions(global, sending, metadata),
      onEvent: showing(on: display))
    return try await interruptible(upload, journal: journal) { try await engine.run(upload, input: input) }
  }
  try await report(session, upload, journal: journal, output: output, display: display)
}

func engineOptions(_ global: GlobalOptions, _ sending: SendOptions, _ metadata: Metadata) -> UploadEngine.Options {
  var options = UploadEngine.Options()
  options.parallel = sending.startingStreams
  options.maximumParallel = sending.adapts ? sending.connectionLimit : nil
  options.limiter = sending.rateLimit.map(RateLimiter.init(bytesPerSecond:))
  options.retryFor = sending.retryWindow
  options.metadata = metadata
  options.server = global.serverAddress
  return options
}

/// Progress on the terminal, a line for every retry and reconnection, and with `verbose` every
/// change in the number of connections.
func showing(
  on display: ProgressDisplay, transport: TransportTally? = nil, verbose: Bool = false
) -> @Sendable (UploadEngine.Event) -> Void {
  let rate = RateMeter()
  return { event in
    transport?.record(event)
    switch event {
    case .progress(let done, let total):
      display.show(ProgressBar.render(done: done, total: total, bytesPerSecond: rate.record(done)))
    case .retrying, .reconnected:
      announce(event, on: display)
    case .connections(let count, let bytesPerSecond):
      guard verbose else { return }
      display.finish()
      FileHandle.standardError.write(
        Data("connections: \(count) (goodput \(String(format: "%.1f", bytesPerSecond * 8 / 1e6)) Mbit/s before)\n".utf8))
    }
  }
}

/// Writes the line for a retry or a reconnection to standard error, below the progress line;
/// in a batch, after the name of the file (`about`).
func announce(_ event: UploadEngine.Event, about file: String? = nil, on display: ProgressDisplay) {
  let line: String
  switch event {
  case .retrying(let delay, let attempt, let reason):
    line = "\(reason); retrying in \(String(format: "%.1f", delay.inSeconds)) s (attempt \(attempt))"
  case .reconnected(let after):
    line = "reconnected to the server after \(String(format: "%.1f", after.inSeconds)) s without it"
  case .progress, .connections:
    return
  }
  display.finish()
  FileHandle.standardError.write(Data(((file.map { "\($0): " } ?? "") + line + "\n").utf8))
}

/// Prints the finished upload as text or JSON.
private func report(
  _ session: Uploader_V1_Session, _ upload: JournalUpload, journal: Journal, output: OutputOptions,
  display: ProgressDisplay, transport: TransportTally? = nil
) async throws {
  display.finish()
  let finished = try await journal.upload(upload.id) ?? upload
  if output.json {
    var row = StatusJSON(finished, parts: try await journal.parts(of: upload.id))
    row.verified = session.isVerified
    row.transport = transport?.json
    print(try StatusJSON.json(row))
  } else {
    let source = finished.readsStandardInput ? "standard input" : finished.filePath
    let verified = session.isVerified ? ", verified by reading it back" : ""
    print("uploaded \(source) to \(session.key) (\(ProgressBar.human(finished.identity.size)), sha256 \(finished.sha256?.hex ?? "unknown")\(verified)) [\(upload.id)]")
  }
}

/// Runs `body` in a task that Ctrl-C (SIGINT) cancels.
func cancellingOnInterrupt<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
  let task = Task { try await body() }
  signal(SIGINT, SIG_IGN)
  let source = DispatchSource.makeSignalSource(signal: SIGINT)
  source.setEventHandler { task.cancel() }
  source.resume()
  defer {
    source.cancel()
    signal(SIGINT, SIG_DFL)
  }
  return try await task.value
}

/// Runs `body`; Ctrl-C (SIGINT) cancels it, then tells the user how to continue.
private func interruptible<T: Sendable>(
  _ upload: JournalUpload, journal: Journal, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
  do {
    return try await cancellingOnInterrupt(body)
  } catch is CancellationError {
    if upload.readsStandardInput {
      try? await journal.finish(
        upload.id, state: .failed, error: "interrupted; standard input cannot be read again",
        at: Int64(Date().timeIntervalSince1970 * 1000))
      FileHandle.standardError.write(
        Data("\ninterrupted; standard input cannot be read again: clean up with: uploader abort \(upload.id)\n".utf8))
    } else {
      FileHandle.standardError.write(Data("\ninterrupted; continue with: uploader resume \(upload.id)\n".utf8))
    }
    throw ExitCode(130)
  }
}

/// The average rate since the first acknowledgement.
final class RateMeter: Sendable {
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
