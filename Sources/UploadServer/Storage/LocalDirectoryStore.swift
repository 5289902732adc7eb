import Crypto
import Foundation
#if canImport(Glibc)
  import Glibc
#endif
import NIOFileSystem
import NIOCore
import UploadCore

/// Objects as files under a directory: the embedded default, which needs no setup.
///
/// Layout: `objects/<key>` holds finished objects; `uploads/<upload id>/<part number>` holds
/// the parts of multipart uploads in progress. Parts are taken over from the spool by rename;
/// completion assembles them into a temporary file beside the parts, syncs it, and renames it
/// into place, so an object appears whole or not at all. Content type, metadata and the verified
/// SHA-256 are the file's extended attributes (`ExtendedAttributes`).
public struct LocalDirectoryStore: ObjectStore {
  /// Where finished objects live.
  public let objectsDirectory: FilePath
  /// Where parts of uploads in progress live.
  public let uploadsDirectory: FilePath

  /// Creates a store rooted at `root` (`root/objects`, `root/uploads`).
  public init(root: String) {
    self.objectsDirectory = FilePath(root).appending("objects")
    self.uploadsDirectory = FilePath(root).appending("uploads")
  }

  public var name: String { "file://\(objectsDirectory)" }

  public func checkAvailability() async throws(UploadError) {
    do {
      for directory in [objectsDirectory, uploadsDirectory] {
        try await FileSystem.shared.createDirectory(at: directory, withIntermediateDirectories: true)
      }
    } catch {
      throw UploadError(.storageRejected, "cannot use the local object directory \(objectsDirectory): \(error)")
    }
  }

  /// Checks, once at start-up (not with every health probe, as `checkAvailability` is), that the
  /// file system keeps user extended attributes, which hold objects' content type and metadata:
  /// a server refuses such a directory at start, not at its first upload.
  public func checkExtendedAttributes() async throws(UploadError) {
    do {
      try await FileSystem.shared.createDirectory(at: uploadsDirectory, withIntermediateDirectories: true)
      try await ExtendedAttributes.replace(ObjectAttributes(contentType: "application/x-probe"), of: uploadsDirectory)
      try await ExtendedAttributes.replace(ObjectAttributes(), of: uploadsDirectory)
    } catch {
      throw UploadError(.storageRejected, "cannot use the local object directory \(objectsDirectory): \(error)")
    }
  }

  /// The attributes are given again at completion.
  public func createUpload(key: ObjectKey, attributes: ObjectAttributes) async throws(UploadError) -> String {
    let uploadID = UUID().uuidString.lowercased()
    try await run("starting the upload of \"\(key)\"") {
      try await FileSystem.shared.createDirectory(
        at: uploadsDirectory.appending(uploadID), withIntermediateDirectories: true)
    }
    return uploadID
  }

  public func uploadPart(key: ObjectKey, uploadID: String, part: SpooledPart)
    async throws(UploadError) -> String
  {
    try await run("storing part \(part.number) of \"\(key)\"") {
      let destination = uploadsDirectory.appending(uploadID).appending(String(part.number))
      do {
        try await AtomicRename.rename(FilePath(part.path), to: destination)
      } catch let failure as AtomicRename.Failure where failure.errno == ENOENT {
        // Moved by an earlier try whose outcome was not recorded: done if it is all there.
        guard let info = try await FileSystem.shared.info(forFileAt: destination), info.size == part.size else {
          throw failure
        }
      }
    }
    return "\"\(part.sha256.hex)\""
  }

  public func listParts(key: ObjectKey, uploadID: String) async throws(UploadError) -> [Int: [ListedPart]] {
    let directory = uploadsDirectory.appending(uploadID)
    var parts: [Int: [ListedPart]] = [:]
    try await run("listing the parts of \"\(key)\"") {
      guard try await FileSystem.shared.info(forFileAt: directory) != nil else {
        throw UploadError(.sessionClosed, "the upload of \"\(key)\" no longer exists")
      }
      try await FileSystem.shared.withDirectoryHandle(atPath: directory) { handle in
        for try await entry in handle.listContents() {
          if let number = Int(entry.name.string) {
            parts[number] = [ListedPart(etag: "", size: try await FileSystem.shared.info(forFileAt: entry.path)?.size)]
          }
        }
      }
    }
    return parts
  }

  public func completeUpload(key: ObjectKey, uploadID: String, parts: [CommittedPart], attributes: ObjectAttributes)
    async throws(UploadError) -> StoredObject
  {
    let directory = uploadsDirectory.appending(uploadID)
    let assembled = directory.appending("assembled")
    let ordered = parts.sorted { $0.number < $1.number }
    try await run("assembling \"\(key)\"") {
      // In the kernel: no byte of the object is copied through this process.
      _ = try await FileConcatenation.concatenate(
        ordered.map { directory.appending(String($0.number)) }, into: assembled)
      try await ExtendedAttributes.replace(attributes, of: assembled)
      try await moveIntoPlace(assembled, key: key)
      _ = try await FileSystem.shared.removeItem(at: directory)
    }
    let etag = ContentHash.of(ordered.flatMap(\.sha256.bytes)).hex + "-\(ordered.count)"
    return StoredObject(key: key, location: location(key), etag: "\"\(etag)\"")
  }

  public func abortUpload(key: ObjectKey, uploadID: String) async throws(UploadError) {
    try await run("aborting the upload of \"\(key)\"") {
      _ = try await FileSystem.shared.removeItem(at: uploadsDirectory.appending(uploadID))
    }
  }

  public func putObject(key: ObjectKey, part: SpooledPart, attributes: ObjectAttributes) async throws(UploadError)
    -> StoredObject
  {
    try await run("storing \"\(key)\"") {
      try await ExtendedAttributes.replace(attributes, of: FilePath(part.path))
      try await moveIntoPlace(FilePath(part.path), key: key)
    }
    return StoredObject(key: key, location: location(key), etag: "\"\(part.sha256.hex)\"")
  }

  /// Writes the bytes beside the uploads, syncs them, gives them their attributes and renames
  /// the file into place.
  public func putObject(key: ObjectKey, bytes: ByteBuffer, sha256: ContentHash, attributes: ObjectAttributes)
    async throws(UploadError) -> StoredObject
  {
    let staged = uploadsDirectory.appending("put-" + UUID().uuidString.lowercased())
    try await run("storing \"\(key)\"") {
      do {
        try await FileSystem.shared.withFileHandle(forWritingAt: staged, options: .newFile(replaceExisting: false)) {
          file in
          _ = try await file.write(contentsOf: bytes, toAbsoluteOffset: 0)
          try await file.synchronize()
        }
        try await ExtendedAttributes.replace(attributes, of: staged)
        try await moveIntoPlace(staged, key: key)
      } catch {
        _ = try? await FileSystem.shared.removeItem(at: staged)
        throw error
      }
    }
    return StoredObject(key: key, location: location(key), etag: "\"\(sha256.hex)\"")
  }

  public func digest(ofObject key: ObjectKey) async throws(UploadError) -> ObjectDigest {
    var hasher = SHA256()
    var size: Int64 = 0
    try await run("reading \"\(key)\" back") {
      guard try await FileSystem.shared.info(forFileAt: path(of: key)) != nil else {
        throw UploadError(.objectMissing, "\"\(key)\" is not in the store any more")
      }
      try await FileSystem.shared.withFileHandle(forReadingAt: path(of: key)) { file in
        for try await chunk in file.readChunks(chunkLength: .mebibytes(1)) {
          chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
          size += Int64(chunk.readableBytes)
        }
      }
    }
    return ObjectDigest(sha256: ContentHash(hasher.finalize()), size: size)
  }

  /// Rewrites the file's extended attributes; its ETag does not change.
  public func replaceAttributes(key: ObjectKey, size: Int64, attributes: ObjectAttributes) async throws(UploadError)
    -> String?
  {
    try await run("setting the attributes of \"\(key)\"") {
      try await ExtendedAttributes.replace(attributes, of: path(of: key))
    }
    return nil
  }

  /// The path of an object. Safe because `ObjectKey` has no `.`, `..` or empty segments.
  func path(of key: ObjectKey) -> FilePath {
    key.segments.reduce(objectsDirectory) { $0.appending($1) }
  }

  private func moveIntoPlace(_ file: FilePath, key: ObjectKey) async throws {
    let destination = path(of: key)
    let parent = destination.removingLastComponent()
    if parent != objectsDirectory {
      try await FileSystem.shared.createDirectory(at: parent, withIntermediateDirectories: true)
    }
    if let info = try await FileSystem.shared.info(forFileAt: destination), info.type == .directory {
      throw UploadError(.storageRejected, "cannot store \"\(key)\": a directory of that name exists")
    }
    try await AtomicRename.rename(file, to: destination)
  }

  private func location(_ key: ObjectKey) -> String { "file://\(path(of: key))" }

  private func run(_ doing: String, _ body: () async throws -> Void) async throws(UploadError) {
    do {
      try await body()
    } catch {
      throw UploadError.fromFileSystem(error, while: doing)
    }
  }
}
