// save_peft_adapter / load_peft_adapter: exact round trips, peft's file layout (config keys,
// tensor names and shapes), and one-line errors for adapters that do not fit.
#include "model/peft_adapter.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "formats/safetensors.h"
#include "formats/test_util.h"
#include "model/tiny_llama.h"

namespace cipherlora {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::same_bits;
using test::TempDir;
using testing::tiny_config;

// An adapter with random (non-zero) A and B on q_proj, v_proj and down_proj.
LoraAdapter random_adapter(const LlamaConfig& c, uint32_t seed, int64_t first_layer = 0,
                           const std::string& targets = "q_proj,v_proj,down_proj") {
  LoraConfig lc;
  lc.r = 3;
  lc.alpha = 5.0f;
  lc.use_rslora = true;
  lc.targets = parse_lora_targets(targets);
  lc.first_layer = first_layer;
  LoraAdapter a(c, lc);
  std::mt19937 rng(seed);
  for (int64_t l = first_layer; l < c.n_layers; ++l)
    for (Proj p : lc.targets) {
      LoraPair& pair = a.at(l, p);
      pair.A = testing::random_vector(pair.A.size(), 0.5f, rng);
      pair.B = testing::random_vector(pair.B.size(), 0.5f, rng);
    }
  return a;
}

void expect_same_adapter(const LoraAdapter& want, const LoraAdapter& got) {
  EXPECT_EQ(got.config().r, want.config().r);
  EXPECT_EQ(got.config().alpha, want.config().alpha);
  EXPECT_EQ(got.config().use_rslora, want.config().use_rslora);
  EXPECT_EQ(got.config().targets, want.config().targets);
  EXPECT_EQ(got.config().first_layer, want.config().first_layer);
  ASSERT_EQ(got.n_layers(), want.n_layers());
  for (int64_t l = 0; l < want.n_layers(); ++l)
    for (int p = 0; p < kNumProj; ++p) {
      SCOPED_TRACE("layer " + std::to_string(l) + " " + proj_name(Proj(p)));
      const LoraPair &a = want.at(l, Proj(p)), &b = got.at(l, Proj(p));
      EXPECT_EQ(b.active(), a.active());
      EXPECT_TRUE(same_bits(b.A, a.A));
      EXPECT_TRUE(same_bits(b.B, a.B));
    }
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

void write_json(const std::string& path, const nlohmann::json& j) {
  test::write_text(path, j.dump(2));
}

// Rewrites the adapter's safetensors file with fn applied to its tensors.
void edit_tensors(const std::string& dir,
                  const std::function<void(std::vector<NamedTensor>&)>& fn) {
  const std::string path = dir + "/adapter_model.safetensors";
  std::vector<NamedTensor> tensors;
  {
    SafetensorsFile st = SafetensorsFile::open(path);
    for (const SafetensorsTensorInfo& t : st.tensors())
      tensors.push_back({t.name, t.shape, st.read_f32(t.name)});
  }
  fn(tensors);
  write_safetensors(path, tensors);
}

TEST(PeftAdapter, TensorNamesArePefts) {
  EXPECT_EQ(peft_tensor_name(0, Proj::q, 'A'),
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  EXPECT_EQ(peft_tensor_name(11, Proj::o, 'B'),
            "base_model.model.model.layers.11.self_attn.o_proj.lora_B.weight");
  EXPECT_EQ(peft_tensor_name(3, Proj::gate, 'A'),
            "base_model.model.model.layers.3.mlp.gate_proj.lora_A.weight");
  EXPECT_EQ(peft_tensor_name(1, Proj::down, 'B'),
            "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight");
}

TEST(PeftAdapter, RoundTripsExactly) {
  TempDir dir;
  const LlamaConfig c = tiny_config();
  const LoraAdapter saved = random_adapter(c, 1);
  save_peft_adapter(dir.file("adapter"), saved, "tiny/base");
  expect_same_adapter(saved, load_peft_adapter(dir.file("adapter"), c));
}

TEST(PeftAdapter, RoundTripsAllTargetsWithoutRslora) {
  TempDir dir;
  const LlamaConfig c = tiny_config();
  LoraConfig lc;
  lc.r = 2;
  lc.alpha = 7.5f;
  lc.targets = parse_lora_targets("all");
  LoraAdapter saved = testing::random_adapter(c, lc, 4, 1.0f);
  save_peft_adapter(dir.file("adapter"), saved, "tiny/base");
  const LoraAdapter loaded = load_peft_adapter(dir.file("adapter"), c);
  expect_same_adapter(saved, loaded);
  EXPECT_FALSE(loaded.config().use_rslora);
  EXPECT_EQ(loaded.config().scale(), 7.5f / 2.0f);
}

TEST(PeftAdapter, WritesPeftsConfigKeys) {
  TempDir dir;
  save_peft_adapter(dir.file("adapter"), random_adapter(tiny_config(), 1), "tiny/base-model");
  const nlohmann::json j = read_json(dir.file("adapter/adapter_config.json"));
  EXPECT_EQ(j.at("peft_type"), "LORA");
  EXPECT_EQ(j.at("task_type"), "CAUSAL_LM");
  EXPECT_EQ(j.at("r"), 3);
  EXPECT_EQ(j.at("lora_alpha"), 5.0);
  EXPECT_EQ(j.at("use_rslora"), true);
  EXPECT_EQ(j.at("base_model_name_or_path"), "tiny/base-model");
  EXPECT_EQ(j.at("target_modules").get<std::set<std::string>>(),
            (std::set<std::string>{"q_proj", "v_proj", "down_proj"}));
  EXPECT_EQ(j.at("bias"), "none");
  EXPECT_TRUE(j.at("layers_to_transform").is_null());
}

TEST(PeftAdapter, WritesPeftsTensorNamesAndShapes) {
  TempDir dir;
  save_peft_adapter(dir.file("adapter"), random_adapter(tiny_config(), 1), "tiny/base");
  const SafetensorsFile st = SafetensorsFile::open(dir.file("adapter/adapter_model.safetensors"));
  std::map<std::string, std::vector<int64_t>> got;
  for (const SafetensorsTensorInfo& t : st.tensors()) {
    got[t.name] = t.shape;
    EXPECT_EQ(t.dtype, "F32") << t.name;
  }
  // tiny_config: dim 16, q 4 heads x 4 = 16, kv 2 heads x 4 = 8, ffn 24; rank 3.
  std::map<std::string, std::vector<int64_t>> want;
  for (const std::string l : {"0", "1"}) {
    const std::string p = "base_model.model.model.layers." + l;
    want[p + ".self_attn.q_proj.lora_A.weight"] = {3, 16};
    want[p + ".self_attn.q_proj.lora_B.weight"] = {16, 3};
    want[p + ".self_attn.v_proj.lora_A.weight"] = {3, 16};
    want[p + ".self_attn.v_proj.lora_B.weight"] = {8, 3};
    want[p + ".mlp.down_proj.lora_A.weight"] = {3, 24};
    want[p + ".mlp.down_proj.lora_B.weight"] = {16, 3};
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(st.metadata().at("format"), "pt");
}

TEST(PeftAdapter, AdapterOfAnotherModelIsRejected) {
  TempDir dir;
  save_peft_adapter(dir.file("adapter"), random_adapter(tiny_config(), 1), "tiny/base");
  LlamaConfig other = tiny_config();
  other.dim = 32;
  expect_error([&] { load_peft_adapter(dir.file("adapter"), other); },
               {"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "[3, 16]",
                "[3, 32]", "another model"});
}

TEST(PeftAdapter, AdapterForMoreLayersIsRejected) {
  TempDir dir;
  LlamaConfig deeper = tiny_config();
  deeper.n_layers = 3;
  save_peft_adapter(dir.file("adapter"), random_adapter(deeper, 1), "tiny/base");
  expect_error([&] { load_peft_adapter(dir.file("adapter"), tiny_config()); },
               {"holds 18 tensors", "account for 12"});
}

TEST(PeftAdapter, MissingFilesAreNamed) {
  TempDir dir;
  const LlamaConfig c = tiny_config();
  expect_error([&] { load_peft_adapter(dir.file("nope"), c); },
               {dir.file("nope"), "no such folder"});
  save_peft_adapter(dir.file("a"), random_adapter(c, 1), "tiny/base");
  fs::remove(dir.file("a/adapter_config.json"));
  expect_error([&] { load_peft_adapter(dir.file("a"), c); }, {"adapter_config.json is missing"});
  save_peft_adapter(dir.file("b"), random_adapter(c, 1), "tiny/base");
  fs::remove(dir.file("b/adapter_model.safetensors"));
  expect_error([&] { load_peft_adapter(dir.file("b"), c); },
               {"adapter_model.safetensors is missing"});
}

TEST(PeftAdapter, RejectsConfigsItCannotHonour) {
  TempDir dir;
  const LlamaConfig c = tiny_config();
  save_peft_adapter(dir.file("a"), random_adapter(c, 1), "tiny/base");
  const std::string cfg = dir.file("a/adapter_config.json");
  const nlohmann::json good = read_json(cfg);
  const auto expect_rejected = [&](const char* key, const nlohmann::json& value,
                                   const std::vector<std::string>& parts) {
    SCOPED_TRACE(key);
    nlohmann::json j = good;
    j[key] = value;
    write_json(cfg, j);
    expect_error([&] { load_peft_adapter(dir.file("a"), c); }, parts);
  };
  expect_rejected("peft_type", "IA3", {cfg, "peft_type is not LORA"});
  expect_rejected("target_modules", {"q_proj", "qkv_proj"}, {cfg, "'qkv_proj'"});
  expect_rejected("use_dora", true, {cfg, "DoRA"});
  expect_rejected("bias", "all", {cfg, "bias"});
  expect_rejected("rank_pattern", {{"q_proj", 4}}, {cfg, "rank_pattern"});
  write_json(cfg, good);
  expect_same_adapter(random_adapter(c, 1), load_peft_adapter(dir.file("a"), c));  // still fine
  test::write_text(cfg, "{\"r\": ");
  expect_error([&] { load_peft_adapter(dir.file("a"), c); }, {cfg, "not a valid JSON"});
}

TEST(PeftAdapter, ExtraOrMissingTensorIsRejected) {
  TempDir dir;
  const LlamaConfig c = tiny_config();
  save_peft_adapter(dir.file("a"), random_adapter(c, 1), "tiny/base");
  edit_tensors(dir.file("a"), [](std::vector<NamedTensor>& t) {
    t.push_back({"base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight",
                 {3, 16},
                 std::vector<float>(48, 0.5f)});
  });
  expect_error([&] { load_peft_adapter(dir.file("a"), c); },
               {dir.file("a"), "holds 13 tensors", "account for 12"});

  save_peft_adapter(dir.file("b"), random_adapter(c, 1), "tiny/base");
  const std::string gone = "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight";
  edit_tensors(dir.file("b"), [&](std::vector<NamedTensor>& t) {
    std::erase_if(t, [&](const NamedTensor& x) { return x.name == gone; });
  });
  expect_error([&] { load_peft_adapter(dir.file("b"), c); }, {gone, "missing"});
}

TEST(PeftAdapter, TailLayerRangeRoundTrips) {
  TempDir dir;
  LlamaConfig c = tiny_config();
  c.n_layers = 4;
  const LoraAdapter saved = random_adapter(c, 3, /*first_layer=*/2);
  save_peft_adapter(dir.file("a"), saved, "tiny/base");
  const nlohmann::json j = read_json(dir.file("a/adapter_config.json"));
  EXPECT_EQ(j.at("layers_to_transform"), nlohmann::json::array({2, 3}));
  const SafetensorsFile st = SafetensorsFile::open(dir.file("a/adapter_model.safetensors"));
  EXPECT_EQ(st.tensors().size(), 2u * 3u * 2u);  // layers 2, 3; three targets; A and B
  EXPECT_EQ(st.find(peft_tensor_name(1, Proj::q, 'A')), nullptr);

  const LoraAdapter loaded = load_peft_adapter(dir.file("a"), c);
  EXPECT_EQ(loaded.config().first_layer, 2);
  EXPECT_FALSE(loaded.at(1, Proj::q).active());
  expect_same_adapter(saved, loaded);
}

TEST(PeftAdapter, SingleLayerAsAnIntegerIsAccepted) {
  TempDir dir;
  LlamaConfig c = tiny_config();
  c.n_layers = 4;
  const LoraAdapter saved = random_adapter(c, 3, /*first_layer=*/3);
  save_peft_adapter(dir.file("a"), saved, "tiny/base");
  nlohmann::json j = read_json(dir.file("a/adapter_config.json"));
  j["layers_to_transform"] = 3;  // peft accepts an int for one layer
  write_json(dir.file("a/adapter_config.json"), j);
  expect_same_adapter(saved, load_peft_adapter(dir.file("a"), c));
}

TEST(PeftAdapter, NonContiguousOrNonTailLayersAreRejected) {
  TempDir dir;
  LlamaConfig c = tiny_config();
  c.n_layers = 4;
  save_peft_adapter(dir.file("a"), random_adapter(c, 3, /*first_layer=*/2), "tiny/base");
  const std::string cfg = dir.file("a/adapter_config.json");
  nlohmann::json j = read_json(cfg);
  for (const nlohmann::json& layers : {nlohmann::json::array({1, 3}), nlohmann::json::array({1, 2}),
                                       nlohmann::json::array({3, 2})}) {
    SCOPED_TRACE(layers.dump());
    j["layers_to_transform"] = layers;
    write_json(cfg, j);
    expect_error([&] { load_peft_adapter(dir.file("a"), c); },
                 {dir.file("a"), "contiguous range ending at layer 3"});
  }
}

// Saving replaces the adapter's two files and leaves other files (the trainer's log and
// checkpoints live beside the adapter) and no temporaries behind.
TEST(PeftAdapter, SavingOverAnAdapterReplacesItsFiles) {
  TempDir dir;
  const LlamaConfig c = tiny_config();
  save_peft_adapter(dir.file("adapter"), random_adapter(c, 1), "tiny/base");
  test::write_text(dir.file("adapter/train_log.jsonl"), "from an earlier run");
  const LoraAdapter second = random_adapter(c, 2, 0, "k_proj,gate_proj");
  save_peft_adapter(dir.file("adapter"), second, "tiny/base");

  expect_same_adapter(second, load_peft_adapter(dir.file("adapter"), c));
  std::set<std::string> top, inside;
  for (const auto& e : fs::directory_iterator(dir.path())) top.insert(e.path().filename());
  for (const auto& e : fs::directory_iterator(dir.file("adapter")))
    inside.insert(e.path().filename());
  EXPECT_EQ(top, (std::set<std::string>{"adapter"}));
  EXPECT_EQ(inside, (std::set<std::string>{"adapter_config.json", "adapter_model.safetensors",
                                           "train_log.jsonl"}));
}

}  // namespace
}  // namespace cipherlora
