import Testing
import UploadCore

@Suite struct PathFilterTests {
  @Test(arguments: [
    ("*.tmp", "a.tmp", true), ("*.tmp", "deep/dir/a.tmp", true), ("*.tmp", "a.tmp.gz", false),
    ("logs/*.gz", "logs/a.gz", true), ("logs/*.gz", "logs/old/a.gz", false), ("logs/**.gz", "logs/old/a.gz", true),
    ("**/cache/*", "a/b/cache/x", true), ("**/cache/*", "cache/x", true), ("**/cache/*", "a/cache/x/y", false),
    ("data?.csv", "data1.csv", true), ("data?.csv", "data10.csv", false), ("?", "a/b", true),
    ("a/?", "a/b", true), ("a?b", "a/b", false), (".git/**", ".git/objects/ab/cd", true), ("*", "x/y/z", true),
  ])
  func globs(pattern: String, path: String, matches: Bool) {
    #expect(PathFilter.matches(pattern, path) == matches, "\(pattern) on \(path)")
  }

  @Test func includesNarrowAndExcludesWin() {
    let filter = PathFilter(includes: ["*.csv", "*.json"], excludes: ["tmp/**", "*.bak.csv"])
    #expect(filter.accepts("a/b.csv"))
    #expect(filter.accepts("c.json"))
    #expect(!filter.accepts("notes.txt"))
    #expect(!filter.accepts("tmp/x.csv"))
    #expect(!filter.accepts("old.bak.csv"))
    #expect(PathFilter().accepts("anything/at/all"))
  }
}
