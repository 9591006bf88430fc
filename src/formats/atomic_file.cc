#include "formats/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "common/error.h"

namespace cipherlora {

AtomicFileWriter::AtomicFileWriter(const std::string& path)
    : path_(path), tmp_path_(path + ".tmp") {
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot create " + tmp_path_ + ": " + std::strerror(errno));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t n) {
  require(fd_ >= 0, "write to " + path_ + " after commit");
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t written = ::write(fd_, p, n);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot write " + tmp_path_ + ": " + std::strerror(errno));
    }
    p += written;
    n -= static_cast<size_t>(written);
  }
}

void AtomicFileWriter::write_zeros(size_t n) {
  static const uint8_t zeros[256] = {};
  while (n > 0) {
    const size_t chunk = n < sizeof(zeros) ? n : sizeof(zeros);
    write(zeros, chunk);
    n -= chunk;
  }
}

void AtomicFileWriter::commit() {
  require(fd_ >= 0, "commit of " + path_ + " twice");
  // fsync before rename: otherwise a crash can leave <path> pointing at an empty file.
  if (::fsync(fd_) != 0) throw Error("cannot flush " + tmp_path_ + ": " + std::strerror(errno));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw Error("cannot close " + tmp_path_ + ": " + std::strerror(errno));
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    throw Error("cannot rename " + tmp_path_ + " to " + path_ + ": " + std::strerror(errno));
  }
  committed_ = true;
}

}  // namespace cipherlora
