// Writer for GGUF v3 files: collects metadata key/values and tensors, then writes the file
// atomically (to <path>.tmp, then renamed). Used by the tests to build inputs and by the product
// to export models.
//
// Tensor dims are given in GGUF order (fastest-varying first): a row-major [rows, cols] matrix
// is {cols, rows}. Tensor data is laid out with `general.alignment` (32 unless set_alignment()).
//
//   GgufWriter w;
//   w.set_string("general.architecture", "llama");
//   w.set_u32("llama.block_count", 30);
//   w.add_tensor_f32("output_norm.weight", {576}, norm);        // norm: [576]
//   w.add_tensor_f16("token_embd.weight", {576, 49152}, embd);  // embd: [49152, 576] row-major
//   w.write("model.gguf");
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "formats/gguf_types.h"

namespace cipherlora {

class GgufWriter {
 public:
  // Setting a key again replaces its value (keeping its position).
  void set_string(const std::string& key, const std::string& value);
  void set_u32(const std::string& key, uint32_t value);
  void set_i32(const std::string& key, int32_t value);
  void set_u64(const std::string& key, uint64_t value);
  void set_f32(const std::string& key, float value);
  void set_bool(const std::string& key, bool value);
  void set_string_array(const std::string& key, const std::vector<std::string>& values);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& values);
  // Sets general.alignment (u32, a power of two) and aligns the data accordingly.
  void set_alignment(uint32_t alignment);

  // Tensors; names must be unique. data: n_elements(dims) values in storage order.
  void add_tensor_f32(const std::string& name, const std::vector<int64_t>& dims,
                      const std::vector<float>& data);
  // Rounds to fp16 (nearest, ties to even).
  void add_tensor_f16(const std::string& name, const std::vector<int64_t>& dims,
                      const std::vector<float>& data);
  // Already-encoded data of any ggml type (e.g. hand-built Q4_1 blocks); its size must match.
  void add_tensor_raw(const std::string& name, const std::vector<int64_t>& dims, uint32_t type,
                      std::vector<uint8_t> bytes);

  // Throws Error on I/O failure; an existing file at path stays intact in that case.
  void write(const std::string& path) const;

 private:
  struct Kv {
    std::string key;
    std::vector<uint8_t> value;  // type tag + encoded value
  };
  struct Tensor {
    std::string name;
    std::vector<int64_t> dims;
    uint32_t type;
    std::vector<uint8_t> bytes;
  };

  void set(const std::string& key, std::vector<uint8_t> value);

  std::vector<Kv> kvs_;
  std::vector<Tensor> tensors_;
  uint64_t alignment_ = 32;
};

}  // namespace cipherlora
