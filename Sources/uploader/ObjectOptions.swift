import ArgumentParser
import UploadCore

/// The object: its key, what it carries besides its bytes, and whether to verify it once stored.
struct ObjectOptions: ParsableArguments {
  @Option(help: "The object key, such as backups/2026/db.dump. (default: the file's name; required with -)")
  var key: String?

  @Option(help: """
    The object's content type, such as video/mp4. (default: guessed from the file's extension, \
    as aws cli does; none for standard input, which leaves the store's default)
    """)
  var contentType: String?

  @Option(
    name: .customLong("metadata"),
    help: ArgumentHelp(
      "Stored with the object (S3 x-amz-meta-NAME); repeat for more. Names are lower case: a-z 0-9 - _ .",
      valueName: "name=value"))
  var metadata: [String] = []

  @Flag(help: """
    Have the server read the object back from the store once it is complete and check its \
    SHA-256 against the file's; only then is the object stamped with it (x-amz-meta-sha256). \
    Costs one read of the object on the server.
    """)
  var verify = false

  /// The attributes for an object uploaded from `fileName` (nil for standard input).
  func attributes(forFileName fileName: String?) throws -> ObjectAttributes {
    var entries: [String: String] = [:]
    for entry in metadata {
      guard let equals = entry.firstIndex(of: "=") else {
        throw ValidationError("--metadata \"\(entry)\" is not NAME=VALUE")
      }
      let name = String(entry[..<equals])
      guard entries.updateValue(String(entry[entry.index(after: equals)...]), forKey: name) == nil else {
        throw ValidationError("--metadata names \"\(name)\" twice")
      }
    }
    let contentType = self.contentType ?? fileName.flatMap(MediaType.guess(forFileName:)) ?? ""
    do {
      return try ObjectAttributes.validated(contentType: contentType, metadata: entries)
    } catch {
      throw ValidationError(error.message.replacingOccurrences(of: "invalid content type", with: "--content-type: invalid content type"))
    }
  }

  func validate() throws {
    _ = try attributes(forFileName: nil)
  }
}
