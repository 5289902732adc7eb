/// Where a principal's requested key lands: as asked, or under `<principal>/` so that tenants
/// cannot overwrite each other's objects (`--key-prefix-per-principal`).
public struct KeyPlacement: Hashable, Sendable {
  /// Whether keys go under the principal's prefix. The anonymous principal has none.
  public var prefixPerPrincipal: Bool

  public init(prefixPerPrincipal: Bool = false) {
    self.prefixPerPrincipal = prefixPerPrincipal
  }

  /// The object key for `requested`, validated before and after placing it.
  ///
  /// - Throws: `UploadError` `.invalidKey` saying which rule the key breaks.
  public func key(_ requested: String, for principal: Principal) throws(UploadError) -> ObjectKey {
    let key = try ObjectKey(validating: requested)
    guard prefixPerPrincipal, !principal.isAnonymous else { return key }
    return try ObjectKey(validating: principal.name + "/" + key.rawValue)
  }
}
