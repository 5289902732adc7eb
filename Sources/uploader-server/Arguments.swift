import ArgumentParser
import UploadCore

/// A byte count on the command line: 512, 64KiB, 8MiB, 4GiB.
struct SizeArgument: ExpressibleByArgument, Sendable {
  var bytes: Int64

  init(_ bytes: Int64) { self.bytes = bytes }

  init?(argument: String) {
    guard let bytes = ByteSize.parse(argument) else { return nil }
    self.bytes = bytes
  }

  var defaultValueDescription: String { ByteSize.format(bytes) }
}

/// A duration on the command line: 250ms, 90s, 30m, 24h, 7d.
struct DurationArgument: ExpressibleByArgument, Sendable {
  var duration: Duration
  var text: String

  init?(argument: String) {
    guard let duration = DurationText.parse(argument) else { return nil }
    self.duration = duration
    self.text = argument
  }

  var defaultValueDescription: String { text }
}

/// `HOST:PORT` on the command line (`[::1]:PORT` for IPv6).
struct AddressArgument: ExpressibleByArgument, Sendable {
  var host: String
  var port: Int
  var text: String

  init?(argument: String) {
    guard let (host, port) = HostPort.parse(argument) else { return nil }
    (self.host, self.port, self.text) = (host, port, argument)
  }

  var defaultValueDescription: String { text }
}

extension ParsableArguments {
  /// The long names of this type's options and flags, as ArgumentParser derives them from the
  /// property names (option groups are not included: add their own names).
  static var derivedNames: (options: [String], flags: [String]) {
    var options: [String] = []
    var flags: [String] = []
    for child in Mirror(reflecting: Self()).children {
      guard let label = child.label, label.hasPrefix("_") else { continue }
      let name = EnvironmentOptions.optionName(forProperty: String(label.dropFirst()))
      let kind = String(describing: type(of: child.value))
      if kind.hasPrefix("Option<") { options.append(name) }
      if kind.hasPrefix("Flag<") { flags.append(name) }
    }
    return (options, flags)
  }
}
