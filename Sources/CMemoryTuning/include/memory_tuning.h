#ifndef UPLOADER_MEMORY_TUNING_H
#define UPLOADER_MEMORY_TUNING_H

/// Whether glibc malloc was tuned at load time (before main, before any thread): at most
/// UPLOADER_MALLOC_ARENAS arenas and a fixed mmap threshold of UPLOADER_MMAP_THRESHOLD bytes.
int uploader_malloc_tuned(void);

#endif
