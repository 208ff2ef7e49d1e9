#pragma once
// PosixFile: an open backing disk (regular file or block device) and its
// geometry, as the I/O engines need it.
//
// Contract:
// - Open() never creates or resizes anything: the path must exist and be a
//   regular file or a block device (anything else: InvalidArgument).
// - A writable block device is first probed with O_EXCL, the kernel's
//   exclusive claim: Busy while the device is mounted or claimed (LVM, md,
//   another program's O_EXCL), so Tandem never writes under a mounted file
//   system. The claim is not kept, so Tandem may open a device more than once
//   (indexed meta-data shared by several resources).
// - Geometry: size from fstat (files) or BLKGETSIZE64 (block devices). The
//   logical block size is the direct-I/O alignment unit for offsets, lengths
//   and buffer addresses: BLKSSZGET for block devices; for files the file
//   system's own answer (statx STATX_DIOALIGN, Linux 6.1+), else a probe with
//   O_DIRECT reads, else 4096 (a multiple of every sector size, so always safe).
//   With direct I/O the usable size is rounded down to that unit.
// Thread-safety: a plain owned value; the fd may be used from any thread.
// Failure: errors are Status values naming the path; nothing throws.

#include <cstdint>
#include <string>

#include "common/status.h"

namespace tandem::io {

struct FileGeometry {
  uint64_t size_bytes = 0;
  uint32_t logical_block_size = 512;
  uint32_t physical_block_size = 4096;
  bool is_block_device = false;
};

class PosixFile {
 public:
  static Result<PosixFile> Open(const std::string& path, bool direct, bool read_only);

  PosixFile(PosixFile&& other) noexcept;
  PosixFile& operator=(PosixFile&& other) noexcept;
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;
  ~PosixFile();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  const FileGeometry& geometry() const { return geometry_; }
  bool direct() const { return direct_; }
  bool read_only() const { return read_only_; }

 private:
  PosixFile(int fd, std::string path, FileGeometry geometry, bool direct, bool read_only)
      : fd_(fd),
        path_(std::move(path)),
        geometry_(geometry),
        direct_(direct),
        read_only_(read_only) {}

  int fd_ = -1;
  std::string path_;
  FileGeometry geometry_;
  bool direct_ = false;
  bool read_only_ = false;
};

// Whether `path` names a block device (true) or a regular file (false); other
// types are InvalidArgument. Used to pick the caching default before opening.
Result<bool> IsBlockDevicePath(const std::string& path);

}  // namespace tandem::io
