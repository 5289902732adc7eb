import Testing
import UploadCore

@Suite struct EnvironmentOptionsTests {
  @Test func namesVariables() {
    #expect(EnvironmentOptions.variable(for: "data-dir") == "UPLOADER_DATA_DIR")
    #expect(EnvironmentOptions.variable(for: "listen") == "UPLOADER_LISTEN")
  }

  @Test func environmentFillsWhatTheCommandLineLacks() {
    let merged = EnvironmentOptions.merge(
      ["--listen", "0.0.0.0:1", "--log-level=debug"], names: ["listen", "data-dir", "log-level", "s3-bucket"],
      flags: ["allow-unauthenticated"],
      environment: [
        "UPLOADER_LISTEN": "ignored:2", "UPLOADER_DATA_DIR": "/var/lib/uploader", "UPLOADER_LOG_LEVEL": "error",
        "UPLOADER_S3_BUCKET": "", "UPLOADER_ALLOW_UNAUTHENTICATED": "true",
      ])
    #expect(merged == ["--listen", "0.0.0.0:1", "--log-level=debug", "--data-dir", "/var/lib/uploader", "--allow-unauthenticated"])
  }

  @Test(arguments: [
    ("listen", "listen"), ("dataDir", "data-dir"), ("sessionTTL", "session-ttl"), ("s3Bucket", "s3-bucket"),
    ("http2Window", "http2-window"), ("tlsClientCa", "tls-client-ca"), ("URLSession", "url-session"),
  ])
  func optionNamesFollowArgumentParser(_ property: String, _ name: String) {
    #expect(EnvironmentOptions.optionName(forProperty: property) == name)
  }
}

