/// Lets connection options come before the subcommand, as aws, kubectl and gh allow:
/// `uploader --server 10.0.0.1:50051 status` is read as `uploader status --server 10.0.0.1:50051`.
/// ArgumentParser gives options to the command that declares them, and `GlobalOptions` belongs
/// to each subcommand, so the options found before the subcommand's name move after it.
enum GlobalOptionOrder {
  /// `GlobalOptions`' options that take a value, and its one flag.
  static let valued: Set<String> = ["--server", "--token", "--ca-cert", "--client-cert", "--client-key", "--state-dir"]
  static let flags: Set<String> = ["--tls"]

  /// `arguments` (without the program name) with leading connection options moved after the
  /// subcommand named in `subcommands`. Anything else before the subcommand (`--help`, a typo)
  /// leaves the arguments as they are, for ArgumentParser to answer.
  static func hoisted(_ arguments: [String], subcommands: Set<String>) -> [String] {
    var leading: [String] = []
    var index = arguments.startIndex
    while index < arguments.endIndex {
      let argument = arguments[index]
      let name = String(argument.prefix { $0 != "=" })
      if flags.contains(argument) || (valued.contains(name) && argument.contains("=")) {
        leading.append(argument)
        index += 1
      } else if valued.contains(argument), index + 1 < arguments.endIndex {
        leading += [argument, arguments[index + 1]]
        index += 2
      } else {
        break
      }
    }
    guard !leading.isEmpty, index < arguments.endIndex, subcommands.contains(arguments[index]) else {
      return arguments
    }
    return [arguments[index]] + leading + arguments[(index + 1)...]
  }
}
