import Crypto
import Foundation
import NIOFileSystem
import UploadCore

/// Writes one part into its spool file, hashing the bytes as they pass.
///
/// Owned by one task. Memory use is one chunk: bytes go to the file, never into a buffer.
final class PartWriter {
  /// The part number, from 1.
  let number: Int
  /// The part's size once full.
  let capacity: Int64
  /// The spool file.
  let path: FilePath
  /// Bytes written so far.
  private(set) var size: Int64 = 0

  private let handle: WriteFileHandle
  private let budget: SpoolBudget
  private var hasher = SHA256()
  private var closed = false

  private init(number: Int, capacity: Int64, path: FilePath, handle: WriteFileHandle, budget: SpoolBudget) {
    self.budget = budget
    self.number = number
    self.capacity = capacity
    self.path = path
    self.handle = handle
  }

  /// Creates (or truncates) the spool file of part `number` in `directory`, once the spool
  /// has room for the whole part.
  ///
  /// - Throws: `.spoolFull` when it has not.
  static func create(in directory: FilePath, number: Int, capacity: Int64, budget: SpoolBudget) async throws
    -> PartWriter
  {
    let path = directory.appending("part-\(number)")
    try budget.admit(path.string, bytes: capacity)
    do {
      let handle = try await FileSystem.shared.openFile(
        forWritingAt: path, options: .newFile(replaceExisting: true))
      return PartWriter(number: number, capacity: capacity, path: path, handle: handle, budget: budget)
    } catch {
      budget.release(path.string)
      throw error
    }
  }

  /// Room left before the part is full.
  var remaining: Int64 { capacity - size }

  /// Appends `bytes`, which must fit in `remaining`.
  func write(_ bytes: Data) async throws {
    precondition(Int64(bytes.count) <= remaining, "a chunk overflows part \(number)")
    try await handle.write(contentsOf: bytes, toAbsoluteOffset: size)
    hasher.update(data: bytes)
    size += Int64(bytes.count)
  }

  /// Closes the file and describes the finished part.
  func finish() async throws -> SpooledPart {
    closed = true
    budget.release(path.string)
    await closeFile(handle)
    return SpooledPart(
      number: number, path: path.string, size: size, sha256: ContentHash(hasher.finalize()))
  }

  /// Closes the file, if still open, and deletes it.
  func discard() async {
    budget.release(path.string)
    if !closed {
      closed = true
      await closeFile(handle)
    }
    _ = try? await FileSystem.shared.removeItem(at: path)
  }
}
