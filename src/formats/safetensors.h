// Reader (memory-mapped) and writer for safetensors files, the Hugging Face tensor format.
//
// Layout: u64 little-endian header length N, N bytes of JSON
//   {"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}}
// then the raw row-major data; offsets are relative to the end of the header. open() validates
// the header the way the reference library does: valid JSON, known dtypes, byte ranges that match
// numel * dtype size and tile the data section exactly (contiguous, no gaps, no overlap).
//
//   SafetensorsFile st = SafetensorsFile::open("adapter_model.safetensors");
//   std::vector<float> a =
//   st.read_f32("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
//   write_safetensors("out.safetensors", {{"w", {2, 3}, {1, 2, 3, 4, 5, 6}}}, {{"format", "pt"}});
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "formats/mapped_file.h"

namespace cipherlora {

struct SafetensorsTensorInfo {
  std::string name;
  std::string dtype;            // "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;   // row-major
  uint64_t begin = 0, end = 0;  // byte range in the data section
};

class SafetensorsFile {
 public:
  // Throws Error on a missing file or an invalid header.
  static SafetensorsFile open(const std::string& path);

  SafetensorsFile(SafetensorsFile&&) = default;
  SafetensorsFile& operator=(SafetensorsFile&&) = default;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::vector<SafetensorsTensorInfo>& tensors() const { return tensors_; }  // by offset
  const SafetensorsTensorInfo* find(const std::string& name) const;  // nullptr if absent
  // F32 / F16 / BF16 -> fp32, row-major. Throws Error for a missing name or another dtype.
  std::vector<float> read_f32(const std::string& name) const;
  // The tensor's stored bytes (t.end - t.begin of them), inside the mapping; unaligned.
  const uint8_t* raw_data(const SafetensorsTensorInfo& t) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return file_.path(); }

 private:
  SafetensorsFile() = default;
  void parse();
  [[noreturn]] void fail(const std::string& what) const;

  MappedFile file_;
  uint64_t data_start_ = 0;
  std::vector<SafetensorsTensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Bytes per element of a safetensors dtype; 0 if unknown.
uint64_t safetensors_dtype_size(const std::string& dtype);

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;  // row-major
  std::vector<float> data;     // numel(shape) values
};

// Writes F32 tensors sorted by name (as the Python library orders same-dtype tensors) after a
// header padded with spaces to a multiple of 8 bytes, atomically (<path>.tmp, then rename).
// Throws Error on duplicate names, a shape that doesn't match the data, or I/O failure.
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace cipherlora
