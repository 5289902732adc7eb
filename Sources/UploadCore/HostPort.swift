/// `HOST:PORT` as flags take it (`[::1]:PORT` for IPv6).
public enum HostPort {
  /// The host and port of `text`, or nil when it is not `HOST:PORT` with a port in 0...65535.
  public static func parse(_ text: String) -> (host: String, port: Int)? {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
      (0...65535).contains(port)
    else { return nil }
    var host = String(text[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return host.isEmpty ? nil : (host, port)
  }
}
