import AsyncHTTPClient

/// Runs `body` with a fresh HTTP client and shuts the client down afterwards, whatever happens.
public func withHTTPClient<T>(_ body: (HTTPClient) async throws -> T) async throws -> T {
  let client = HTTPClient(eventLoopGroupProvider: .singleton)
  do {
    let result = try await body(client)
    try await client.shutdown()
    return result
  } catch {
    try? await client.shutdown()
    throw error
  }
}
