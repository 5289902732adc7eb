import NIOCore
import Synchronization
import Testing
import UploadCore
@testable import UploadServer

/// The server-wide bound on part uploads (`ServerConfiguration.maximumConcurrentPartUploads`),
/// over a store double that counts how many uploads it serves at once.
@Suite(.timeLimit(.minutes(1))) struct BoundedObjectStoreTests {
  /// Counts concurrent `uploadPart` calls. Each holds on until `target` calls have run at once,
  /// so a bound that lets fewer through (a serial store) hangs the test instead of passing it,
  /// and one that lets more through shows it in `most`.
  final class CountingStore: ObjectStore {
    let counts = Mutex<(now: Int, most: Int, total: Int)>((0, 0, 0))
    let target: Int
    var name: String { "counting" }

    init(target: Int) {
      self.target = target
    }

    func checkAvailability() async throws(UploadError) {}
    func createUpload(key: ObjectKey, attributes: ObjectAttributes) async throws(UploadError) -> String { "u" }
    func uploadPart(key: ObjectKey, uploadID: String, part: SpooledPart) async throws(UploadError) -> String {
      counts.withLock {
        $0.now += 1
        $0.most = max($0.most, $0.now)
        $0.total += 1
      }
      while counts.withLock({ $0.most }) < target { try? await Task.sleep(for: .milliseconds(1)) }
      try? await Task.sleep(for: .milliseconds(5))
      counts.withLock { $0.now -= 1 }
      return "e\(part.number)"
    }
    func completeUpload(key: ObjectKey, uploadID: String, parts: [CommittedPart], attributes: ObjectAttributes)
      async throws(UploadError) -> StoredObject
    {
      throw UploadError(.internal, "not used")
    }
    func abortUpload(key: ObjectKey, uploadID: String) async throws(UploadError) {}
    func listParts(key: ObjectKey, uploadID: String) async throws(UploadError) -> [Int: [ListedPart]] { [:] }
    func putObject(key: ObjectKey, part: SpooledPart, attributes: ObjectAttributes) async throws(UploadError)
      -> StoredObject
    {
      throw UploadError(.internal, "not used")
    }
    func putObject(key: ObjectKey, bytes: ByteBuffer, sha256: ContentHash, attributes: ObjectAttributes)
      async throws(UploadError) -> StoredObject
    {
      throw UploadError(.internal, "not used")
    }
    func digest(ofObject key: ObjectKey) async throws(UploadError) -> ObjectDigest {
      throw UploadError(.internal, "not used")
    }
    func replaceAttributes(key: ObjectKey, size: Int64, attributes: ObjectAttributes) async throws(UploadError)
      -> String?
    {
      throw UploadError(.internal, "not used")
    }
  }

  @Test(arguments: [1, 3])
  func partUploadsNeverExceedTheBound(bound: Int) async throws {
    let base = CountingStore(target: bound)
    let store = BoundedObjectStore(base: base, maximumConcurrentUploads: bound)
    let key = try ObjectKey(validating: "k")
    try await withThrowingTaskGroup(of: String.self) { group in
      for number in 1...12 {
        group.addTask {
          try await store.uploadPart(
            key: key, uploadID: "u", part: SpooledPart(number: number, path: "/dev/null", size: 0, sha256: .empty))
        }
      }
      try await group.waitForAll()
    }
    let counts = base.counts.withLock { $0 }
    #expect(counts.total == 12)
    #expect(counts.most == bound, "\(counts.most) uploads ran at once; the bound is \(bound)")
  }
}
