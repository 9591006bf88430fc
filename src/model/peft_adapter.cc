#include "model/peft_adapter.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "formats/atomic_file.h"
#include "formats/safetensors.h"

namespace cipherlora {
namespace fs = std::filesystem;

std::string peft_tensor_name(int64_t layer, Proj p, char factor) {
  return "base_model.model.model.layers." + std::to_string(layer) +
         (proj_is_attention(p) ? ".self_attn." : ".mlp.") + proj_name(p) + ".lora_" + factor +
         ".weight";
}

namespace {

// layers_to_transform, when present, lands in `layers`.
LoraConfig parse_config(const std::string& path, std::vector<int64_t>& layers) {
  std::ifstream in(path);
  require(in.good(), "adapter " + path + ": cannot open");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  require(j.is_object(), "adapter " + path + ": not a valid JSON object");
  LoraConfig c;
  try {
    require(j.value("peft_type", std::string("LORA")) == "LORA", "peft_type is not LORA");
    c.r = j.at("r").get<int64_t>();
    c.alpha = j.value("lora_alpha", static_cast<float>(c.r));
    c.dropout = j.value("lora_dropout", 0.0f);
    c.use_rslora = j.value("use_rslora", false);
    require(j.value("bias", std::string("none")) == "none", "bias other than \"none\"");
    require(!j.value("use_dora", false), "DoRA adapters");
    for (const char* key : {"rank_pattern", "alpha_pattern"})
      require(!j.contains(key) || j[key].is_null() || j[key].empty(),
              std::string("a non-empty ") + key);
    if (j.contains("layers_to_transform") && !j["layers_to_transform"].is_null()) {
      const nlohmann::json& lt = j["layers_to_transform"];
      if (lt.is_number_integer())
        layers.push_back(lt.get<int64_t>());
      else
        for (const auto& v : lt) layers.push_back(v.get<int64_t>());
    }
    const nlohmann::json& t = j.at("target_modules");
    if (t.is_string()) {
      c.targets = parse_lora_targets(t.get<std::string>());
    } else {
      std::string list;
      for (const auto& s : t) list += s.get<std::string>() + ",";
      c.targets = parse_lora_targets(list);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error("adapter " + path + ": " + e.what());
  } catch (const Error& e) {
    throw Error("adapter " + path + ": unsupported or invalid config: " + e.what());
  }
  return c;
}

}  // namespace

LoraAdapter load_peft_adapter(const std::string& dir, const LlamaConfig& model) {
  const std::string cfg_path = dir + "/adapter_config.json";
  const std::string st_path = dir + "/adapter_model.safetensors";
  require(fs::is_directory(dir), "adapter " + dir + ": no such folder");
  require(fs::exists(cfg_path), "adapter " + dir + ": adapter_config.json is missing");
  require(fs::exists(st_path), "adapter " + dir + ": adapter_model.safetensors is missing");
  std::vector<int64_t> layers;
  LoraConfig cfg = parse_config(cfg_path, layers);
  SafetensorsFile st = SafetensorsFile::open(st_path);
  // Adapters cover all layers, or (layers_to_transform) the last ones from some layer on — what
  // --skip-backprop-layers produces. Other layer sets are not supported.
  const int64_t first = layers.empty() ? 0 : layers.front();
  for (size_t i = 0; i < layers.size(); ++i)
    require(layers[i] == first + static_cast<int64_t>(i) && first >= 0 &&
                layers.back() == model.n_layers - 1,
            "adapter " + dir + ": layers_to_transform must be a contiguous range ending at layer " +
                std::to_string(model.n_layers - 1));
  cfg.first_layer = first;
  LoraAdapter a(model, cfg);
  int64_t loaded = 0;
  for (int64_t l = first; l < model.n_layers; ++l)
    for (Proj p : cfg.targets) {
      LoraPair& pair = a.at(l, p);
      for (char f : {'A', 'B'}) {
        const std::string name = peft_tensor_name(l, p, f);
        const SafetensorsTensorInfo* ti = st.find(name);
        require(ti != nullptr, "adapter " + dir + ": tensor " + name + " is missing");
        const std::vector<int64_t> want =
            f == 'A' ? std::vector<int64_t>{cfg.r, pair.in} : std::vector<int64_t>{pair.out, cfg.r};
        require(ti->shape == want, "adapter " + dir + ": tensor " + name + " has shape [" +
                                       std::to_string(ti->shape.empty() ? 0 : ti->shape[0]) + ", " +
                                       std::to_string(ti->shape.size() > 1 ? ti->shape[1] : 0) +
                                       "], but this model needs [" + std::to_string(want[0]) +
                                       ", " + std::to_string(want[1]) +
                                       "] (adapter of another model?)");
        (f == 'A' ? pair.A : pair.B) = st.read_f32(name);
        ++loaded;
      }
    }
  // Anything else in the file (another target, a layer the model lacks) means a mismatch.
  require(static_cast<int64_t>(st.tensors().size()) == loaded,
          "adapter " + dir + ": holds " + std::to_string(st.tensors().size()) +
              " tensors, but its config and this model account for " + std::to_string(loaded));
  return a;
}

void save_peft_adapter(const std::string& dir, const LoraAdapter& a,
                       const std::string& base_model_name) {
  const LoraConfig& c = a.config();
  std::vector<NamedTensor> tensors;
  for (int64_t l = 0; l < a.n_layers(); ++l)
    for (Proj p : c.targets) {
      const LoraPair& pair = a.at(l, p);
      if (!pair.active()) continue;
      tensors.push_back({peft_tensor_name(l, p, 'A'), {c.r, pair.in}, pair.A});
      tensors.push_back({peft_tensor_name(l, p, 'B'), {pair.out, c.r}, pair.B});
    }
  nlohmann::json targets = nlohmann::json::array();
  for (Proj p : c.targets) targets.push_back(proj_name(p));
  nlohmann::json layers = nullptr;
  if (c.first_layer > 0) {
    layers = nlohmann::json::array();
    for (int64_t l = c.first_layer; l < a.n_layers(); ++l) layers.push_back(l);
  }
  nlohmann::json cfg = {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"base_model_name_or_path", base_model_name},
      {"r", c.r},
      {"lora_alpha", c.alpha},
      {"lora_dropout", c.dropout},
      {"use_rslora", c.use_rslora},
      {"target_modules", targets},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"layers_to_transform", layers},
      {"modules_to_save", nullptr},
      {"use_dora", false},
      {"rank_pattern", nlohmann::json::object()},
      {"alpha_pattern", nlohmann::json::object()},
  };

  // Each file is replaced atomically; the config goes last, so a folder with a config always
  // has the matching tensors beside it.
  std::error_code ec;
  fs::create_directories(dir, ec);
  require(!ec, "adapter " + dir + ": cannot create the folder: " + ec.message());
  write_safetensors(dir + "/adapter_model.safetensors", tensors, {{"format", "pt"}});
  AtomicFileWriter out(dir + "/adapter_config.json");
  const std::string text = cfg.dump(2) + "\n";
  out.write(text.data(), text.size());
  out.commit();
}

}  // namespace cipherlora
