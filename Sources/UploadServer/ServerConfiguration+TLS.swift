import GRPCNIOTransportHTTP2
import NIOFileSystem
import NIOSSL
import UploadCore

extension ServerConfiguration {
  /// Plaintext; TLS from the PEM files; or mutual TLS trusting only the client CA given.
  var transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity {
    guard let tls else { return .plaintext }
    let chain: [TLSConfig.CertificateSource] = [.file(path: tls.certificate, format: .pem)]
    let key: TLSConfig.PrivateKeySource = .file(path: tls.privateKey, format: .pem)
    guard let clientCA = tls.clientCA else { return .tls(certificateChain: chain, privateKey: key) }
    return .mTLS(certificateChain: chain, privateKey: key) { config in
      config.trustRoots = .certificates([.file(path: clientCA, format: .pem)])
      config.clientCertificateVerification = .noHostnameVerification
    }
  }
}

extension ServerConfiguration {
  /// The tus listener's TLS, from the same files as gRPC's; nil for cleartext.
  func httpTLSContext() throws -> NIOSSLContext? {
    guard let tls else { return nil }
    var configuration = TLSConfiguration.makeServerConfiguration(
      certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificate).map { .certificate($0) },
      privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.privateKey, format: .pem)))
    if let clientCA = tls.clientCA {
      configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCA))
      configuration.certificateVerification = .noHostnameVerification
    }
    return try NIOSSLContext(configuration: configuration)
  }
}

extension ServerConfiguration.TLSFiles {
  /// Reads and parses every file, so that a wrong path or a file of the wrong kind stops the
  /// server at start with the flag to fix, not later as "Couldn't create SSL context".
  ///
  /// - Throws: `UploadError` `.invalidRequest` naming the flag and the file.
  func check() async throws(UploadError) {
    var files = [("--tls-cert", certificate, true), ("--tls-key", privateKey, false)]
    if let clientCA { files.append(("--tls-client-ca", clientCA, true)) }
    for (flag, path, isCertificate) in files {
      do {
        let buffer = try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { file in
          try await file.readToEnd(maximumSizeAllowed: .mebibytes(1))
        }
        let bytes = Array(buffer.readableBytesView)
        if isCertificate {
          guard !(try NIOSSLCertificate.fromPEMBytes(bytes)).isEmpty else { throw NIOSSLError.failedToLoadCertificate }
        } else {
          _ = try NIOSSLPrivateKey(bytes: bytes, format: .pem)
        }
      } catch {
        let kind = isCertificate ? "PEM certificate" : "PEM private key"
        throw UploadError(.invalidRequest, "\(flag) \(path): not a readable \(kind) (\(error))")
      }
    }
  }
}
