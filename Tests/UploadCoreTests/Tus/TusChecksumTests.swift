import Crypto
import Foundation
import Testing
import UploadCore

@Suite struct TusChecksumTests {
  private let body = Data("hello, tus".utf8)

  @Test(arguments: TusChecksum.Algorithm.allCases)
  func hashesTheBodyWithTheClaimedAlgorithm(algorithm: TusChecksum.Algorithm) throws {
    let digest: Data =
      switch algorithm {
      case .sha1: Data(Insecure.SHA1.hash(data: body))
      case .sha256: Data(SHA256.hash(data: body))
      }
    let checksum = try TusChecksum(header: "\(algorithm.rawValue) \(digest.base64EncodedString())")
    #expect(checksum.algorithm == algorithm)
    var hasher = checksum.makeHasher()
    hasher.update(data: body.prefix(3))
    hasher.update(data: body.dropFirst(3))
    #expect(hasher.finalize() == checksum.digest)
    var other = checksum.makeHasher()
    other.update(data: Data("hello, tuS".utf8))
    #expect(other.finalize() != checksum.digest)
  }

  @Test(arguments: [
    ("md5 XrY7u+Ae7tCTyyK7j1rNww==", "not supported; use one of sha1,sha256"),
    ("sha1 ***", "20 bytes in base64"),
    ("sha256 \(Data(Insecure.SHA1.hash(data: Data())).base64EncodedString())", "32 bytes in base64"),
    ("sha1", "\"ALGORITHM BASE64\""),
  ])
  func refusesWhatItCannotCheck(header: String, reason: String) {
    do {
      _ = try TusChecksum(header: header)
      Issue.record("accepted \(header)")
    } catch {
      #expect(error.code == .invalidRequest)
      #expect(error.message.contains(reason), "\(error.message)")
    }
  }
}
