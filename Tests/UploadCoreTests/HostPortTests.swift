import Testing
import UploadCore

@Suite struct HostPortTests {
  @Test func parsesHostsAndPorts() throws {
    #expect(try #require(HostPort.parse("127.0.0.1:50051")) == ("127.0.0.1", 50051))
    #expect(try #require(HostPort.parse("[::1]:0")) == ("::1", 0))
    #expect(try #require(HostPort.parse("uploads.example.com:443")) == ("uploads.example.com", 443))
  }

  @Test(arguments: ["", "nowhere", ":80", "host:", "host:65536", "host:-1", "host:http"])
  func refuses(_ text: String) {
    #expect(HostPort.parse(text) == nil)
  }
}
