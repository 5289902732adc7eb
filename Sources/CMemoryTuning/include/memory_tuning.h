#ifndef UPLOADER_MEMORY_TUNING_H
#define UPLOADER_MEMORY_TUNING_H

/// glibc malloc settings applied at load time, before main and before any thread exists.
struct uploader_malloc_settings {
  int arenas;          // M_ARENA_MAX
  int mmap_threshold;  // M_MMAP_THRESHOLD: larger blocks get their own mapping
  int trim_threshold;  // M_TRIM_THRESHOLD: free memory kept at the top of a heap
};

/// The settings in force. The server's are the default (a weak definition); an executable that
/// links a strong definition (the CLI, `CClientMemoryTuning`) replaces them.
extern const struct uploader_malloc_settings uploader_malloc_settings;

/// Whether the settings took effect (false off glibc).
int uploader_malloc_tuned(void);

#endif
