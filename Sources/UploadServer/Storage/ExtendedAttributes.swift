import CFileCopy
import NIOFileSystem
import NIOPosix
import UploadCore

#if canImport(Glibc)
  import Glibc
#endif

/// An object's attributes as the local store keeps them: extended attributes of its file, off
/// the cooperative pool. `user.mime_type` holds the content type (the freedesktop.org name, which
/// file managers read), `user.sha256` the verified SHA-256, and `user.meta.<name>` each metadata
/// entry. `getfattr -d FILE` shows them.
enum ExtendedAttributes {
  struct Failure: Error, CustomStringConvertible {
    let errno: Int32
    let doing: String
    var description: String {
      let advice =
        errno == EOPNOTSUPP ? " (the file system does not support user extended attributes, which hold objects' metadata)" : ""
      return "\(doing): \(String(cString: strerror(errno)))\(advice)"
    }
  }

  static let contentTypeName = "user.mime_type"
  static let sha256Name = "user.sha256"
  static let metadataPrefix = "user.meta."

  /// The extended attributes that stand for `attributes`.
  static func names(for attributes: ObjectAttributes) -> [String: String] {
    var names: [String: String] = [:]
    if !attributes.contentType.isEmpty { names[contentTypeName] = attributes.contentType }
    if let sha256 = attributes.sha256 { names[sha256Name] = sha256.hex }
    for (name, value) in attributes.metadata { names[metadataPrefix + name] = value }
    return names
  }

  /// Gives the file at `path` exactly `attributes`: ours that it has and `attributes` lacks are
  /// removed; others' are left alone.
  static func replace(_ attributes: ObjectAttributes, of path: FilePath) async throws {
    let wanted = names(for: attributes)
    try await NIOThreadPool.singleton.runIfActive {
      for name in try list(path) where isOurs(name) && wanted[name] == nil {
        guard removexattr(path.string, name) == 0 || errno == ENODATA else {
          throw Failure(errno: errno, doing: "removing \(name) of \(path)")
        }
      }
      for (name, value) in wanted.sorted(by: { $0.key < $1.key }) {
        let bytes = Array(value.utf8)
        guard setxattr(path.string, name, bytes, bytes.count, 0) == 0 else {
          throw Failure(errno: errno, doing: "setting \(name) of \(path)")
        }
      }
    }
  }

  /// The attributes the file at `path` carries.
  static func read(_ path: FilePath) async throws -> ObjectAttributes {
    try await NIOThreadPool.singleton.runIfActive {
      var attributes = ObjectAttributes()
      for name in try list(path) where isOurs(name) {
        let value = try self.value(name, of: path)
        if name == contentTypeName {
          attributes.contentType = value
        } else if name == sha256Name {
          attributes.sha256 = ContentHash(hex: value)
        } else {
          attributes.metadata[String(name.dropFirst(metadataPrefix.count))] = value
        }
      }
      return attributes
    }
  }

  private static func isOurs(_ name: String) -> Bool {
    name == contentTypeName || name == sha256Name || name.hasPrefix(metadataPrefix)
  }

  private static func list(_ path: FilePath) throws -> [String] {
    let size = listxattr(path.string, nil, 0)
    guard size >= 0 else { throw Failure(errno: errno, doing: "listing the attributes of \(path)") }
    guard size > 0 else { return [] }
    var buffer = [CChar](repeating: 0, count: size)
    let read = listxattr(path.string, &buffer, size)
    guard read >= 0 else { throw Failure(errno: errno, doing: "listing the attributes of \(path)") }
    return buffer.prefix(read).split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
  }

  private static func value(_ name: String, of path: FilePath) throws -> String {
    let size = getxattr(path.string, name, nil, 0)
    guard size >= 0 else { throw Failure(errno: errno, doing: "reading \(name) of \(path)") }
    var buffer = [UInt8](repeating: 0, count: size)
    let read = getxattr(path.string, name, &buffer, size)
    guard read >= 0 else { throw Failure(errno: errno, doing: "reading \(name) of \(path)") }
    return String(decoding: buffer.prefix(read), as: UTF8.self)
  }
}
