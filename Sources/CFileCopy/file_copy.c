#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

#include "file_copy.h"

ssize_t uploader_copy_file_range(int input, int output, size_t length) {
  return copy_file_range(input, NULL, output, NULL, length, 0);
}

int uploader_reserve(int descriptor, off_t length) {
  return fallocate(descriptor, FALLOC_FL_KEEP_SIZE, 0, length);
}
