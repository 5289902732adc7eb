import Crypto
import NIOFileSystem
import Synchronization
import UploadCore

/// Hashes the file being uploaded beside the sends, so the first byte goes out at once.
///
/// One sequential pass reads the file and feeds the same bytes to each part's SHA-256 and to the
/// whole file's. Each digest is recorded in the journal as soon as it is known, and before any
/// stream may declare it, so a part the server holds always has its digest in the journal.
/// Streams wait in `digest(ofPart:)` for the part they are about to send; hashing runs at about
/// 1.3 GiB/s here, far ahead of any network, so they rarely wait.
///
/// Digests the journal already holds are checked against the file again when the pass has to
/// run (the whole file's digest is not known yet): a difference means the file changed.
final class FileDigester: Sendable {
  private struct State {
    var parts: [ContentHash?]
    var whole: ContentHash?
    var failure: (any Error)?
    var waiters: [(part: Int?, continuation: CheckedContinuation<ContentHash, any Error>)] = []
  }

  /// What the pass reads at once.
  private static let blockLength: Int64 = 1 << 20

  private let state: Mutex<State>
  private let upload: JournalUpload
  private let sizes: [Int64]
  private let journal: Journal

  /// A digester for `upload`, starting from the digests in `parts` (the journal's).
  init(upload: JournalUpload, parts: [JournalPart], journal: Journal) {
    self.upload = upload
    self.sizes = parts.map(\.size)
    self.journal = journal
    state = Mutex(State(parts: parts.map(\.sha256), whole: upload.sha256))
  }

  /// Whether every digest is known, so `run()` has nothing to do.
  var isComplete: Bool { state.withLock { $0.whole != nil && !$0.parts.contains(nil) } }

  /// Reads and hashes the file, unless every digest is known.
  ///
  /// - Throws: `ClientError` when the file cannot be read, is shorter than recorded, or hashes
  ///   differently from a digest already recorded. Waiters get the same error.
  func run() async throws {
    guard !isComplete else { return }
    do {
      try await hashFile()
    } catch {
      let failure = error as? ClientError ?? ClientError("cannot read \(upload.filePath): \(error)", journalState: nil)
      let waiters = state.withLock { state in
        state.failure = failure
        defer { state.waiters = [] }
        return state.waiters
      }
      for waiter in waiters { waiter.continuation.resume(throwing: failure) }
      throw failure
    }
  }

  /// Part `number`'s SHA-256, once hashed.
  func digest(ofPart number: Int) async throws -> ContentHash {
    try await wait(for: number)
  }

  /// The whole file's SHA-256, once hashed.
  func whole() async throws -> ContentHash {
    try await wait(for: nil)
  }

  private func wait(for part: Int?) async throws -> ContentHash {
    try await withCheckedThrowingContinuation { continuation in
      let ready: Result<ContentHash, any Error>? = state.withLock { state in
        let known: ContentHash? = if let part { state.parts[part - 1] } else { state.whole }
        if let known { return .success(known) }
        if let failure = state.failure { return .failure(failure) }
        state.waiters.append((part, continuation))
        return nil
      }
      if let ready { continuation.resume(with: ready) }
    }
  }

  private func hashFile() async throws {
    var whole = SHA256()
    try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(upload.filePath)) { handle in
      var start: Int64 = 0
      for (index, size) in sizes.enumerated() {
        try Task.checkCancellation()
        var part = SHA256()
        let read = try await Self.read(handle, from: start, size: size) { bytes in
          part.update(bufferPointer: bytes)
          whole.update(bufferPointer: bytes)
        }
        guard read == size else {
          throw ClientError("\(upload.filePath) is shorter than when the upload started")
        }
        try await found(part: index + 1, ContentHash(part.finalize()))
        start += size
      }
    }
    let digest = ContentHash(whole.finalize())
    try await journal.hashed(upload.id, whole: digest)
    resume(state.withLock { state in
      state.whole = digest
      let ready = state.waiters.filter { $0.part == nil }
      state.waiters.removeAll { $0.part == nil }
      return ready
    }, with: digest)
  }

  /// The first part not yet committed (of all the file's `parts`, in order) whose bytes in the
  /// file no longer hash to the digest the journal holds for it, with its range; nil when every
  /// one still does. Reads each such part once.
  static func firstChanged(_ parts: [JournalPart], in path: String) async throws
    -> (number: Int, range: Range<Int64>)?
  {
    var start: Int64 = 0
    var starts: [Int: Int64] = [:]
    for part in parts.sorted(by: { $0.number < $1.number }) {
      starts[part.number] = start
      start += part.size
    }
    return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
      for part in parts where part.sha256 != nil && !part.committed {
        let from = starts[part.number] ?? 0
        var hash = SHA256()
        let read = try await Self.read(handle, from: from, size: part.size) { hash.update(bufferPointer: $0) }
        if read < part.size || ContentHash(hash.finalize()) != part.sha256 {
          return (part.number, from..<(from + part.size))
        }
      }
      return nil
    }
  }

  /// Reads `size` bytes from `start`, one block at a time, into `take`; returns the bytes read
  /// (fewer when the file ends first). One block at a time: `readChunks` reads up to 8 blocks
  /// ahead of the hashing, which only held memory (the pass outruns any network either way).
  private static func read(
    _ handle: ReadFileHandle, from start: Int64, size: Int64, into take: (UnsafeRawBufferPointer) -> Void
  ) async throws -> Int64 {
    var read: Int64 = 0
    while read < size {
      let block = try await handle.readChunk(
        fromAbsoluteOffset: start + read, length: .bytes(min(blockLength, size - read)))
      if block.readableBytes == 0 { break }
      block.withUnsafeReadableBytes { take($0) }
      read += Int64(block.readableBytes)
    }
    return read
  }

  private func found(part number: Int, _ digest: ContentHash) async throws {
    let recorded = state.withLock { $0.parts[number - 1] }
    if let recorded {
      guard recorded == digest else {
        throw ClientError(
          "\(upload.filePath) changed since the upload started: part \(number) no longer has the recorded SHA-256; start a new upload")
      }
      return
    }
    try await journal.hashed(upload.id, part: number, sha256: digest)
    resume(state.withLock { state in
      state.parts[number - 1] = digest
      let ready = state.waiters.filter { $0.part == number }
      state.waiters.removeAll { $0.part == number }
      return ready
    }, with: digest)
  }

  private func resume(
    _ waiters: [(part: Int?, continuation: CheckedContinuation<ContentHash, any Error>)], with digest: ContentHash
  ) {
    for waiter in waiters { waiter.continuation.resume(returning: digest) }
  }
}
