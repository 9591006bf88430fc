// A Hugging Face model folder: config.json plus the weights in model.safetensors, or sharded
// across several files listed by model.safetensors.index.json ({"weight_map": {name: shard}}).
// All shards are memory-mapped on open(); tensors are converted to fp32 on request.
//
//   HfCheckpoint ckpt = HfCheckpoint::open("SmolLM2-135M-Instruct/");
//   int hidden = ckpt.config().at("hidden_size");
//   std::vector<float> wq = ckpt.read_f32("model.layers.0.self_attn.q_proj.weight");  // [out, in]
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/safetensors.h"

namespace cipherlora {

class HfCheckpoint {
 public:
  // Throws Error for a missing/invalid config.json, no weights file, a missing shard, or a tensor
  // named in the index that its shard does not hold.
  static HfCheckpoint open(const std::string& dir);

  const nlohmann::json& config() const { return config_; }
  const std::string& dir() const { return dir_; }

  bool has_tensor(const std::string& name) const;
  std::vector<std::string> tensor_names() const;  // sorted
  // The getters below throw Error "hf checkpoint <dir>: tensor N missing" for an unknown name.
  std::vector<int64_t> shape(const std::string& name) const;   // row-major
  std::string dtype(const std::string& name) const;            // "F32", "BF16", ...
  std::vector<float> read_f32(const std::string& name) const;  // F32/F16/BF16 -> fp32

 private:
  HfCheckpoint() = default;
  const SafetensorsFile& shard_of(const std::string& name) const;

  std::string dir_;
  nlohmann::json config_;
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, size_t> shard_index_;  // tensor name -> index in shards_
};

}  // namespace cipherlora
