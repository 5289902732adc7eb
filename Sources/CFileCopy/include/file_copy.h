#ifndef UPLOADER_FILE_COPY_H
#define UPLOADER_FILE_COPY_H

#include <sys/types.h>
// setxattr(2), getxattr(2), listxattr(2), removexattr(2): the local store keeps objects'
// attributes there, and Swift's Glibc module does not export this header.
#include <sys/xattr.h>

/// copy_file_range(2) on the descriptors' own offsets; glibc declares it only under
/// _GNU_SOURCE, which Swift's Glibc module does not set. Returns the bytes copied, 0 at the end
/// of the input, or -1 with errno set.
ssize_t uploader_copy_file_range(int input, int output, size_t length);

/// fallocate(2) with FALLOC_FL_KEEP_SIZE: reserves the disk blocks of `[0, length)` without
/// changing the file's size, so later writes in that range cannot fail for want of space. Also
/// declared only under _GNU_SOURCE. Returns 0, or -1 with errno set (EOPNOTSUPP where the file
/// system cannot reserve).
int uploader_reserve(int descriptor, off_t length);

#endif
