import AsyncHTTPClient
import S3

/// Runs `body` with a fresh S3 HTTP client and shuts the client down afterwards, whatever happens.
public func withHTTPClient<T>(_ body: (HTTPClient) async throws -> T) async throws -> T {
  let client = try S3Client.makeHTTPClient()
  do {
    let result = try await body(client)
    try await client.shutdown()
    return result
  } catch {
    try? await client.shutdown()
    throw error
  }
}
