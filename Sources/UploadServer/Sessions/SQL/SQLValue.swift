import UploadCore

/// A value bound to a statement or read from a row, in the few types the session tables use.
/// Each database maps them to its own: SQLite keeps a boolean as an integer, PostgreSQL as a
/// boolean.
public enum SQLValue: Sendable, Hashable {
  case null
  case integer(Int64)
  case text(String)
  case boolean(Bool)
}

extension SQLValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral {
  public init(integerLiteral value: Int64) { self = .integer(value) }
  public init(stringLiteral value: String) { self = .text(value) }
  public init(booleanLiteral value: Bool) { self = .boolean(value) }

  init(_ value: Int) { self = .integer(Int64(value)) }
  init(_ value: String?) { self = value.map(SQLValue.text) ?? .null }
  init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
}

/// One row of a result, by column name, read the same way whichever database produced it.
public struct SQLRow: Sendable {
  var values: [String: SQLValue]

  init(_ values: [String: SQLValue]) {
    self.values = values
  }

  func integer(_ column: String) throws(UploadError) -> Int64 {
    guard let value = try optionalInteger(column) else { throw Self.mismatch(column, "an integer", .null) }
    return value
  }

  func optionalInteger(_ column: String) throws(UploadError) -> Int64? {
    switch values[column] ?? .null {
    case .null: return nil
    case .integer(let value): return value
    case let other: throw Self.mismatch(column, "an integer", other)
    }
  }

  func text(_ column: String) throws(UploadError) -> String {
    guard let value = try optionalText(column) else { throw Self.mismatch(column, "text", .null) }
    return value
  }

  func optionalText(_ column: String) throws(UploadError) -> String? {
    switch values[column] ?? .null {
    case .null: return nil
    case .text(let value): return value
    case let other: throw Self.mismatch(column, "text", other)
    }
  }

  /// A boolean column: PostgreSQL's boolean, or SQLite's integer.
  func boolean(_ column: String) throws(UploadError) -> Bool {
    switch values[column] ?? .null {
    case .boolean(let value): return value
    case .integer(let value): return value != 0
    case let other: throw Self.mismatch(column, "a boolean", other)
    }
  }

  private static func mismatch(_ column: String, _ expected: String, _ found: SQLValue) -> UploadError {
    UploadError(.internal, "session database: column \(column) holds \(found), not \(expected)")
  }
}
