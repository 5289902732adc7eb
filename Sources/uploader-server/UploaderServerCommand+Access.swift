import ArgumentParser
import UploadCore
import UploadServer

/// The options that decide who may call and how much one caller may use.
struct AccessOptions: ParsableArguments {
  @Option(help: ArgumentHelp("Serve TLS with this PEM certificate chain (with --tls-key).", valueName: "file"))
  var tlsCert: String?

  @Option(help: ArgumentHelp("The PEM private key of --tls-cert.", valueName: "file"))
  var tlsKey: String?

  @Option(help: ArgumentHelp("Require client certificates signed by this PEM CA (mutual TLS).", valueName: "file"))
  var tlsClientCa: String?

  @Option(help: ArgumentHelp("""
    Accept only calls with 'authorization: Bearer TOKEN' for a token listed in FILE, one \
    'PRINCIPAL SHA256HEX' per line (the token's SHA-256, so the file holds no token). Re-read on \
    SIGHUP. Others get UNAUTHENTICATED; health checks are open. (default: no tokens, loopback only)
    """, valueName: "file"))
  var authTokens: String?

  @Flag(help: "Allow listening on a non-loopback address without --auth-tokens.")
  var allowUnauthenticated = false

  @Flag(help: "Store each principal's objects under '<principal>/', so tenants cannot overwrite each other's objects.")
  var keyPrefixPerPrincipal = false

  @Option(help: "The most open sessions one principal may have; past it CreateSession gets RESOURCE_EXHAUSTED.")
  var maxSessionsPerPrincipal = SessionSettings().maximumOpenSessionsPerPrincipal

  @Option(help: "The most upload streams served at once; past it a stream gets RESOURCE_EXHAUSTED.")
  var maxStreams = ServerConfiguration().maximumStreams

  @Option(help: "The largest gRPC message accepted; a larger one ends its call (clients send chunks of 1MiB).")
  var maxMessageSize = SizeArgument(Int64(ServerConfiguration().maximumMessageSize))

  @Option(help: "The largest metadata map of a session (names plus values, UTF-8); past it CreateSession gets INVALID_ARGUMENT. S3 holds 2KiB of metadata per object, of which the server's sha256 takes 70 bytes.")
  var maxMetadataSize = SizeArgument(Int64(SessionSettings().maximumMetadataBytes))

  @Option(help: "End a call that keeps the server waiting this long for its next message, with DEADLINE_EXCEEDED (what it sent is kept).")
  var idleStreamTimeout = DurationArgument(argument: "5m")!

  @Option(help: "Ping a client connection after this long without hearing from it, and drop it once its bytes go unacknowledged as long again: a client whose link went dark frees its streams. Clients may ping as often as once a second.")
  var keepalive = DurationArgument(argument: "10s")!

  /// Writes these options into `configuration`.
  func apply(to configuration: inout ServerConfiguration) throws {
    switch (tlsCert, tlsKey) {
    case (let certificate?, let key?):
      configuration.tls = .init(certificate: certificate, privateKey: key, clientCA: tlsClientCa)
    case (nil, nil):
      guard tlsClientCa == nil else { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key") }
    default:
      throw ValidationError("--tls-cert and --tls-key go together")
    }
    configuration.tokensFile = authTokens
    configuration.allowUnauthenticated = allowUnauthenticated
    configuration.sessions.keyPlacement = KeyPlacement(prefixPerPrincipal: keyPrefixPerPrincipal)
    guard maxSessionsPerPrincipal >= 1 else { throw ValidationError("--max-sessions-per-principal must be at least 1") }
    configuration.sessions.maximumOpenSessionsPerPrincipal = maxSessionsPerPrincipal
    guard maxStreams >= 1 else { throw ValidationError("--max-streams must be at least 1") }
    configuration.maximumStreams = maxStreams
    guard (64 << 10...64 << 20).contains(maxMessageSize.bytes) else {
      throw ValidationError("--max-message-size \"\(maxMessageSize.defaultValueDescription)\" is not a size from 64KiB to 64MiB")
    }
    configuration.maximumMessageSize = Int(maxMessageSize.bytes)
    guard (0...Int64(ObjectAttributes.maximumMetadataBytes)).contains(maxMetadataSize.bytes) else {
      throw ValidationError(
        "--max-metadata-size \"\(maxMetadataSize.defaultValueDescription)\" is more than \(ObjectAttributes.maximumMetadataBytes) bytes, the most an S3 object holds beside the server's sha256")
    }
    configuration.sessions.maximumMetadataBytes = Int(maxMetadataSize.bytes)
    guard idleStreamTimeout.duration >= .seconds(1) else {
      throw ValidationError("--idle-stream-timeout \"\(idleStreamTimeout.text)\" is less than 1s; give a duration such as 5m")
    }
    configuration.idleStreamTimeout = idleStreamTimeout.duration
    guard keepalive.duration >= .seconds(1) else {
      throw ValidationError("--keepalive \"\(keepalive.text)\" is less than 1s; give a duration such as 10s")
    }
    configuration.keepaliveInterval = keepalive.duration
  }
}
