import ArgumentParser
import UploadCore

/// How `uploader upload DIR` picks files and names their objects.
struct DirectoryOptions: ParsableArguments {
  @Option(help: """
    With a directory: the key of each file is this prefix plus its path below the directory. \
    (default: the directory's name and a slash)
    """)
  var keyPrefix: String?

  @Option(help: ArgumentHelp("""
    With a directory: upload only files matching this glob; repeat for more. A pattern without / \
    matches file names in any directory (*.csv); one with / matches the path below the directory \
    (logs/**.gz). * stays within a name, ** crosses directories, ? is one character.
    """, valueName: "glob"))
  var include: [String] = []

  @Option(help: ArgumentHelp("With a directory: skip files matching this glob (as --include); repeat for more. Excludes win.", valueName: "glob"))
  var exclude: [String] = []

  @Flag(help: "With a directory: follow symbolic links to files and directories. (default: skip them, and say how many)")
  var followSymlinks = false

  @Option(help: """
    With a directory: files sent at the same time, over shared connections, from 1 to 64. \
    (default: by the files' median size, 64 for files of 256KiB or less, 32 up to 2MiB, down to 4 for 16MiB and more)
    """)
  var transfers: Int?

  var filter: PathFilter { PathFilter(includes: include, excludes: exclude) }

  /// Whether any of these options was given (they mean nothing for one file).
  var isUsed: Bool { keyPrefix != nil || !include.isEmpty || !exclude.isEmpty || followSymlinks || transfers != nil }

  func validate() throws {
    if let transfers, !TransferCount.allowed.contains(transfers) {
      throw ValidationError("--transfers must be from 1 to 64")
    }
  }
}
