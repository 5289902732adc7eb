/// Which files of a directory to upload: `--include` and `--exclude` globs over paths relative
/// to the directory, as rclone and .gitignore read them.
///
/// - A pattern without `/` matches a file's name in any directory (`*.tmp`); one with `/`
///   matches the whole relative path (`logs/*.gz`).
/// - `*` matches within a name (never `/`), `**` across directories, `?` one character.
/// - A file is taken when it matches an include (or there is none) and no exclude.
public struct PathFilter: Sendable {
  public var includes: [String]
  public var excludes: [String]

  /// A filter; empty lists take every file.
  public init(includes: [String] = [], excludes: [String] = []) {
    self.includes = includes
    self.excludes = excludes
  }

  /// Whether the file at `relativePath` (`/`-separated) is taken.
  public func accepts(_ relativePath: String) -> Bool {
    (includes.isEmpty || includes.contains { Self.matches($0, relativePath) })
      && !excludes.contains { Self.matches($0, relativePath) }
  }

  /// Whether `pattern` matches `path` (see the type's rules).
  public static func matches(_ pattern: String, _ path: String) -> Bool {
    let subject = pattern.contains("/") ? path : String(path.split(separator: "/").last ?? "")
    return glob(Array(pattern.unicodeScalars), Array(subject.unicodeScalars))
  }

  private static func glob(_ pattern: [Unicode.Scalar], _ text: [Unicode.Scalar]) -> Bool {
    // Backtracking over `*` and `**`: patterns are short, paths at most a few hundred characters.
    func match(_ p: Int, _ t: Int) -> Bool {
      guard p < pattern.count else { return t == text.count }
      if pattern[p] == "*" {
        let across = p + 1 < pattern.count && pattern[p + 1] == "*"
        var next = p + (across ? 2 : 1)
        // `**/` also matches no directory at all.
        if across, next < pattern.count, pattern[next] == "/", match(next + 1, t) { return true }
        if across { next = p + 2 }
        var end = t
        while true {
          if match(next, end) { return true }
          guard end < text.count, across || text[end] != "/" else { return false }
          end += 1
        }
      }
      guard t < text.count else { return false }
      if pattern[p] == "?" { return text[t] != "/" && match(p + 1, t + 1) }
      return pattern[p] == text[t] && match(p + 1, t + 1)
    }
    return match(0, 0)
  }
}
