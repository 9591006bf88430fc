// Reader for GGUF (v2/v3, little-endian) model files, the llama.cpp checkpoint format.
//
// Layout: magic "GGUF", u32 version, u64 tensor count, u64 metadata count, the metadata
// key/values (strings are u64 length + bytes), the tensor infos (name, u32 n_dims, u64 dims
// fastest-varying first, u32 type, u64 offset), then the tensor data, starting at the next
// multiple of `general.alignment` (32 by default); each tensor offset is relative to that start.
//
// open() validates the whole header against the file size (lengths, counts, dims, types,
// offsets, overlaps) and throws Error naming the file and the problem; afterwards every tensor is
// known to lie inside the file. The file is memory-mapped for the object's lifetime; metadata
// values are decoded on request, tensor data is dequantized on request by read_f32().
//
//   GgufFile gguf = GgufFile::open("SmolLM2-135M-Instruct.Q4_1.gguf");
//   int64_t n_layers = gguf.get_int("llama.block_count");
//   const GgufTensorInfo* t = gguf.find_tensor("blk.0.attn_q.weight");   // dims [576, 576]
//   std::vector<float> w = gguf.read_f32(*t);   // [576 rows, 576] row-major, i.e. HF [out, in]
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "formats/gguf_types.h"
#include "formats/mapped_file.h"

namespace cipherlora {

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // GGUF order, fastest-varying first: an HF [out, in] is [in, out]
  uint32_t type = 0;          // a ggml type id, see GgufType
  uint64_t offset = 0;        // from the start of the data section
  uint64_t nbytes = 0;        // bytes of data

  int64_t n_elements() const;
};

class GgufFile {
 public:
  // Throws Error on a missing, truncated, corrupt or unsupported-version file.
  static GgufFile open(const std::string& path);

  GgufFile(GgufFile&&) = default;
  GgufFile& operator=(GgufFile&&) = default;
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  const std::string& path() const { return file_.path(); }
  uint64_t alignment() const { return alignment_; }

  // Metadata. The typed getters throw Error "gguf <path>: key K missing" or
  // "gguf <path>: key K has type X, expected Y".
  bool has(const std::string& key) const;
  std::vector<std::string> keys() const;              // in file order
  uint32_t value_type(const std::string& key) const;  // a GgufValueType tag
  std::string get_string(const std::string& key) const;
  int64_t get_int(const std::string& key) const;   // any integer type (u8..i64) or bool
  double get_float(const std::string& key) const;  // f32, f64 or any integer type
  bool get_bool(const std::string& key) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<int64_t> get_int_array(const std::string& key) const;   // integer or bool elements
  std::vector<double> get_float_array(const std::string& key) const;  // float or integer elements
  std::optional<std::string> get_string_or_none(const std::string& key) const;
  int64_t get_int_or(const std::string& key, int64_t fallback) const;
  double get_float_or(const std::string& key, double fallback) const;

  // Tensors, in file order.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;  // nullptr if absent
  static std::string type_name(uint32_t type) { return gguf_type_name(type); }

  // Raw stored bytes of a tensor (t.nbytes of them), inside the mapping.
  const uint8_t* tensor_data(const GgufTensorInfo& t) const;

  // Dequantized fp32 copy, row-major in the natural (Hugging Face) order: GGUF dims [d0, d1]
  // come back as d1 rows of d0 values. Supports F32, F16, BF16, Q8_0, Q4_0, Q4_1; throws Error
  // for other types.
  std::vector<float> read_f32(const GgufTensorInfo& t) const;
  std::vector<float> read_f32(const std::string& name) const;  // throws Error if absent

 private:
  struct Kv {
    std::string key;
    uint32_t type;   // GgufValueType tag
    uint64_t value;  // file offset of the value (after the type tag)
  };

  GgufFile() = default;
  void parse();
  const Kv& kv(const std::string& key) const;
  [[noreturn]] void fail_type(const Kv& kv, const std::string& expected) const;
  [[noreturn]] void fail(const std::string& what) const;

  MappedFile file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_start_ = 0;  // file offset of the data section
  std::vector<Kv> kvs_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace cipherlora
