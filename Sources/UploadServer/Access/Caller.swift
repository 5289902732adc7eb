import UploadCore

/// The principal of the call being served, set by `AuthenticationInterceptor` for the handler
/// and for its response producer.
enum Caller {
  @TaskLocal static var principal: Principal = .anonymous
}
