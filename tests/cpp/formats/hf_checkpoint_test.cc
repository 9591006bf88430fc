#include "formats/hf_checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "formats/test_util.h"

namespace cipherlora {
namespace {

using test::expect_error;
using test::TempDir;

const char* kConfig = R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 8,
                          "num_hidden_layers": 2, "rms_norm_eps": 1e-05})";

void write_sharded(const TempDir& dir) {
  test::write_text(dir.file("config.json"), kConfig);
  write_safetensors(dir.file("model-00001-of-00002.safetensors"),
                    {{"model.embed_tokens.weight", {2, 3}, {1, 2, 3, 4, 5, 6}},
                     {"model.norm.weight", {3}, {7, 8, 9}}});
  write_safetensors(dir.file("model-00002-of-00002.safetensors"),
                    {{"model.layers.0.mlp.up_proj.weight", {1, 3}, {-1, -2, -3}}});
  test::write_text(dir.file("model.safetensors.index.json"), R"({
    "metadata": {"total_size": 60},
    "weight_map": {
      "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
      "model.layers.0.mlp.up_proj.weight": "model-00002-of-00002.safetensors",
      "model.norm.weight": "model-00001-of-00002.safetensors"
    }})");
}

TEST(HfCheckpoint, SingleFile) {
  TempDir dir;
  test::write_text(dir.file("config.json"), kConfig);
  write_safetensors(
      dir.file("model.safetensors"),
      {{"model.norm.weight", {3}, {7, 8, 9}}, {"lm_head.weight", {2, 3}, {1, 2, 3, 4, 5, 6}}});
  HfCheckpoint ckpt = HfCheckpoint::open(dir.path());
  EXPECT_EQ(ckpt.dir(), dir.path());
  EXPECT_EQ(ckpt.config().at("hidden_size").get<int>(), 8);
  EXPECT_EQ(ckpt.config().at("rms_norm_eps").get<double>(), 1e-5);
  EXPECT_EQ(ckpt.tensor_names(), (std::vector<std::string>{"lm_head.weight", "model.norm.weight"}));
  EXPECT_TRUE(ckpt.has_tensor("lm_head.weight"));
  EXPECT_FALSE(ckpt.has_tensor("model.embed_tokens.weight"));
  EXPECT_EQ(ckpt.shape("lm_head.weight"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ckpt.dtype("lm_head.weight"), "F32");
  EXPECT_EQ(ckpt.read_f32("lm_head.weight"), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  expect_error([&] { ckpt.read_f32("nope"); },
               {"hf checkpoint " + dir.path(), "tensor nope missing"});
  expect_error([&] { ckpt.shape("nope"); }, {"tensor nope missing"});
}

TEST(HfCheckpoint, Sharded) {
  TempDir dir;
  write_sharded(dir);
  HfCheckpoint ckpt = HfCheckpoint::open(dir.path());
  EXPECT_EQ(ckpt.tensor_names(),
            (std::vector<std::string>{"model.embed_tokens.weight",
                                      "model.layers.0.mlp.up_proj.weight", "model.norm.weight"}));
  EXPECT_EQ(ckpt.read_f32("model.layers.0.mlp.up_proj.weight"), (std::vector<float>{-1, -2, -3}));
  EXPECT_EQ(ckpt.read_f32("model.norm.weight"), (std::vector<float>{7, 8, 9}));
  EXPECT_EQ(ckpt.shape("model.embed_tokens.weight"), (std::vector<int64_t>{2, 3}));
  HfCheckpoint moved = std::move(ckpt);
  EXPECT_EQ(moved.read_f32("model.embed_tokens.weight")[5], 6.0f);
}

TEST(HfCheckpoint, RejectsBrokenFolders) {
  expect_error([] { HfCheckpoint::open("/nonexistent/model"); },
               {"/nonexistent/model", "not a directory"});
  {
    TempDir dir;
    expect_error([&] { HfCheckpoint::open(dir.path()); }, {dir.path(), "config.json missing"});
    test::write_text(dir.file("config.json"), "{not json");
    expect_error([&] { HfCheckpoint::open(dir.path()); }, {"config.json is not valid JSON"});
    test::write_text(dir.file("config.json"), "[1]");
    expect_error([&] { HfCheckpoint::open(dir.path()); }, {"config.json is not a JSON object"});
    test::write_text(dir.file("config.json"), kConfig);
    expect_error([&] { HfCheckpoint::open(dir.path()); },
                 {"neither model.safetensors nor model.safetensors.index.json"});
    test::write_bytes(dir.file("model.safetensors"), {1, 2, 3});
    expect_error([&] { HfCheckpoint::open(dir.path()); }, {"safetensors", "model.safetensors"});
  }
  const std::string index = "model.safetensors.index.json";
  {
    TempDir dir;
    write_sharded(dir);
    std::filesystem::remove(dir.file("model-00002-of-00002.safetensors"));
    expect_error([&] { HfCheckpoint::open(dir.path()); },
                 {dir.path(), "shard model-00002-of-00002.safetensors", "is missing"});
  }
  {
    TempDir dir;
    write_sharded(dir);
    write_safetensors(dir.file("model-00002-of-00002.safetensors"), {{"other", {1}, {0}}});
    expect_error([&] { HfCheckpoint::open(dir.path()); },
                 {"tensor model.layers.0.mlp.up_proj.weight is not in its shard"});
  }
  {
    TempDir dir;
    write_sharded(dir);
    test::write_text(dir.file(index), R"({"weight_map": {"a": "../../etc/passwd"}})");
    expect_error([&] { HfCheckpoint::open(dir.path()); }, {"invalid shard file"});
    test::write_text(dir.file(index), R"({"weight_map": {"a": 3}})");
    expect_error([&] { HfCheckpoint::open(dir.path()); },
                 {"weight_map entry for a is not a string"});
    test::write_text(dir.file(index), R"({"metadata": {}})");
    expect_error([&] { HfCheckpoint::open(dir.path()); }, {"has no weight_map"});
    test::write_text(dir.file(index), "garbage");
    expect_error([&] { HfCheckpoint::open(dir.path()); }, {index, "not valid JSON"});
  }
}

}  // namespace
}  // namespace cipherlora
