#include "memory_tuning.h"

#define UPLOADER_MALLOC_ARENAS 2
#define UPLOADER_MMAP_THRESHOLD (128 * 1024)

static int tuned = 0;

#if defined(__linux__)
#include <malloc.h>

// Runs before main, so no thread has an arena yet: mallopt(M_ARENA_MAX) called later does not
// shrink the arenas that threads already own.
__attribute__((constructor)) static void uploader_tune_malloc(void) {
  tuned = mallopt(M_ARENA_MAX, UPLOADER_MALLOC_ARENAS) && mallopt(M_MMAP_THRESHOLD, UPLOADER_MMAP_THRESHOLD);
}
#endif

int uploader_malloc_tuned(void) { return tuned; }
