/// One statement of the catalogue, written once for every database: the text, with a `?` for
/// each argument in order, and the arguments.
///
/// The text is the SQL both databases speak (`RETURNING`, `ON CONFLICT`, `IS DISTINCT FROM`,
/// `TRUE`). Where they differ, a `SQLDialect` renders it: PostgreSQL numbers the placeholders,
/// and SQLite, which has one writer at a time, drops `FOR UPDATE SKIP LOCKED`.
public struct SQLStatement: Sendable {
  /// Locks the rows a `SELECT` takes and skips those another transaction holds, so that each
  /// piece of background work goes to one node. Written in the text as is.
  static let skipLocked = "FOR UPDATE SKIP LOCKED"

  public var text: String
  public var arguments: [SQLValue]
  /// Whether a database should keep the statement prepared for the next call: true for the
  /// catalogue's fixed texts; false for one whose text varies with its arguments' count, which
  /// would fill the cache with texts seldom seen twice.
  public var isReused: Bool

  /// A statement with `arguments` for its placeholders, in order.
  public init(_ text: String, _ arguments: [SQLValue] = [], isReused: Bool = true) {
    self.text = text
    self.arguments = arguments
    self.isReused = isReused
  }

  /// `?, ?, ?` for `count` arguments (a list for `IN`, or a row of `VALUES`).
  static func placeholders(_ count: Int) -> String {
    Array(repeating: "?", count: count).joined(separator: ", ")
  }
}

/// How one database spells a catalogue statement.
public enum SQLDialect: Sendable {
  case sqlite
  case postgres

  /// The statement's text as this database takes it.
  public func render(_ statement: SQLStatement) -> String {
    switch self {
    case .sqlite:
      return statement.text.replacingOccurrences(of: SQLStatement.skipLocked, with: "")
    case .postgres:
      var rendered = ""
      var number = 0
      for character in statement.text {
        if character == "?" {
          number += 1
          rendered += "$\(number)"
        } else {
          rendered.append(character)
        }
      }
      return rendered
    }
  }
}
