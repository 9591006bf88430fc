// Writes a file all-or-nothing: bytes go to "<path>.tmp", and commit() flushes them to disk and
// renames the temporary over <path>. A crash or an exception before commit() leaves any existing
// <path> untouched (the destructor removes the temporary). Used by every writer in formats/.
//
//   AtomicFileWriter out(path);
//   out.write(header.data(), header.size());
//   out.commit();   // throws Error on any I/O failure
#pragma once

#include <cstddef>
#include <string>

namespace cipherlora {

class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::string& path);  // throws Error if the tmp file can't be made
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  void write(const void* data, size_t n);
  void write_zeros(size_t n);
  void commit();

 private:
  std::string path_;
  std::string tmp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace cipherlora
