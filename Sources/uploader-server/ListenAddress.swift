import ArgumentParser

/// Parses `HOST:PORT` (`[::1]:PORT` for IPv6).
enum ListenAddress {
  static func parse(_ text: String) throws -> (host: String, port: Int) {
    guard let colon = text.lastIndex(of: ":") else {
      throw ValidationError("--listen \"\(text)\" is not HOST:PORT")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
    else {
      throw ValidationError("--listen \"\(text)\" is not HOST:PORT with a port from 0 to 65535")
    }
    return (host, port)
  }
}
