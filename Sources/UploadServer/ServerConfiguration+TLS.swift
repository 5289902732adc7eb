import GRPCNIOTransportHTTP2

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
