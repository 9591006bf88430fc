#include "formats/hf_checkpoint.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace cipherlora {

namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const fs::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(what + ": cannot open " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": " + path.string() + " is not valid JSON: " + e.what());
  }
}

}  // namespace

HfCheckpoint HfCheckpoint::open(const std::string& dir) {
  HfCheckpoint ckpt;
  ckpt.dir_ = dir;
  const std::string where = "hf checkpoint " + dir;
  const fs::path root(dir);
  if (!fs::is_directory(root)) throw Error(where + ": not a directory");
  if (!fs::exists(root / "config.json")) throw Error(where + ": config.json missing");
  ckpt.config_ = read_json(root / "config.json", where);
  if (!ckpt.config_.is_object()) throw Error(where + ": config.json is not a JSON object");

  // Like transformers, prefer the single file when both forms are present.
  if (fs::exists(root / "model.safetensors")) {
    ckpt.shards_.push_back(SafetensorsFile::open((root / "model.safetensors").string()));
    for (const SafetensorsTensorInfo& t : ckpt.shards_[0].tensors()) ckpt.shard_index_[t.name] = 0;
    return ckpt;
  }
  const fs::path index_path = root / "model.safetensors.index.json";
  if (!fs::exists(index_path)) {
    throw Error(where + ": neither model.safetensors nor model.safetensors.index.json found " +
                "(only safetensors checkpoints are supported)");
  }
  const nlohmann::json index = read_json(index_path, where);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object() ||
      index["weight_map"].empty()) {
    throw Error(where + ": model.safetensors.index.json has no weight_map");
  }
  std::map<std::string, size_t> shard_ids;  // shard file name -> index in shards_
  for (const auto& [name, file] : index["weight_map"].items()) {
    if (!file.is_string())
      throw Error(where + ": weight_map entry for " + name + " is not a string");
    const std::string shard = file.get<std::string>();
    // Shards are plain file names next to the index; anything else could escape the folder.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..") {
      throw Error(where + ": weight_map names an invalid shard file \"" + shard + "\"");
    }
    auto it = shard_ids.find(shard);
    if (it == shard_ids.end()) {
      if (!fs::exists(root / shard)) {
        throw Error(where + ": shard " + shard +
                    " (named in model.safetensors.index.json) is missing");
      }
      ckpt.shards_.push_back(SafetensorsFile::open((root / shard).string()));
      it = shard_ids.emplace(shard, ckpt.shards_.size() - 1).first;
    }
    if (ckpt.shards_[it->second].find(name) == nullptr) {
      throw Error(where + ": tensor " + name + " is not in its shard " + shard);
    }
    ckpt.shard_index_[name] = it->second;
  }
  return ckpt;
}

const SafetensorsFile& HfCheckpoint::shard_of(const std::string& name) const {
  auto it = shard_index_.find(name);
  if (it == shard_index_.end())
    throw Error("hf checkpoint " + dir_ + ": tensor " + name + " missing");
  return shards_[it->second];
}

bool HfCheckpoint::has_tensor(const std::string& name) const {
  return shard_index_.count(name) != 0;
}

std::vector<std::string> HfCheckpoint::tensor_names() const {
  std::vector<std::string> names;
  names.reserve(shard_index_.size());
  for (const auto& [name, shard] : shard_index_) names.push_back(name);
  return names;
}

std::vector<int64_t> HfCheckpoint::shape(const std::string& name) const {
  return shard_of(name).find(name)->shape;
}

std::string HfCheckpoint::dtype(const std::string& name) const {
  return shard_of(name).find(name)->dtype;
}

std::vector<float> HfCheckpoint::read_f32(const std::string& name) const {
  return shard_of(name).read_f32(name);
}

}  // namespace cipherlora
