#if canImport(Glibc)
  import Glibc
#endif

/// glibc raises its mmap threshold each time a large block is freed, after which 256 KiB to
/// 1 MiB chunk buffers come from the heap arenas and fragment them: the server's peak RSS then
/// grew with every upload (124 MiB after three 256 MiB uploads, against 84 MiB with a fixed
/// threshold). Fixing the threshold keeps chunk buffers in their own mappings, returned on free.
enum MemoryTuning {
  static func apply() {
    #if canImport(Glibc)
      _ = mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    #endif
  }
}
