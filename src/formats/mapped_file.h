// A read-only memory mapping of a whole file, shared by the model-file readers so that opening a
// checkpoint never copies it: tensors are read (and dequantized) straight from the page cache on
// request. The mapping lives as long as the object; it is movable, not copyable.
//
//   MappedFile file = MappedFile::open("model.gguf");   // throws Error if missing / unreadable
//   const uint8_t* bytes = file.data();                 // file.size() bytes
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace cipherlora {

class MappedFile {
 public:
  // Maps a regular file. An empty file gives size() == 0 and data() == nullptr.
  static MappedFile open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void unmap();

  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace cipherlora
