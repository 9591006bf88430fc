// load_checkpoint on tiny GGUF files and Hugging Face folders written by the test: every weight
// comes back bit-exact in Hugging Face order (the GGUF q/k permutation undone), the config and
// tokenizer are read from the file, and broken files give one-line errors naming the problem.
#include <gtest/gtest.h>

#include <filesystem>

#include "formats/test_util.h"
#include "model/llama_weights.h"
#include "model/tiny_checkpoint.h"

namespace cipherlora {
namespace {

using test::expect_error;
using test::same_bits;
using test::TempDir;
using testing::CheckpointEdits;
using testing::hand_vocab_config;
using testing::tiny_weights;

// A config whose numbers differ from LlamaConfig's defaults, so each is seen to be read.
LlamaConfig loader_config(bool tied) {
  LlamaConfig c = hand_vocab_config(tied);
  c.rms_eps = 1e-6f;
  c.rope_theta = 50000.0;
  c.max_positions = 48;
  return c;
}

void expect_same_weights(const LlamaWeights& want, const LlamaWeights& got) {
  ASSERT_EQ(got.layers.size(), want.layers.size());
  EXPECT_TRUE(same_bits(got.tok_embeddings, want.tok_embeddings));
  EXPECT_TRUE(same_bits(got.final_norm, want.final_norm));
  EXPECT_TRUE(same_bits(got.lm_head, want.lm_head));
  for (size_t l = 0; l < want.layers.size(); ++l) {
    const LlamaLayerWeights &a = want.layers[l], &b = got.layers[l];
    SCOPED_TRACE("layer " + std::to_string(l));
    EXPECT_TRUE(same_bits(b.attn_norm, a.attn_norm));
    EXPECT_TRUE(same_bits(b.wq, a.wq));
    EXPECT_TRUE(same_bits(b.wk, a.wk));
    EXPECT_TRUE(same_bits(b.wv, a.wv));
    EXPECT_TRUE(same_bits(b.wo, a.wo));
    EXPECT_TRUE(same_bits(b.ffn_norm, a.ffn_norm));
    EXPECT_TRUE(same_bits(b.w_gate, a.w_gate));
    EXPECT_TRUE(same_bits(b.w_up, a.w_up));
    EXPECT_TRUE(same_bits(b.w_down, a.w_down));
  }
}

void expect_config(const LlamaConfig& want, const LlamaConfig& got) {
  EXPECT_EQ(got.vocab_size, 25);
  EXPECT_EQ(got.dim, 16);
  EXPECT_EQ(got.n_layers, 2);
  EXPECT_EQ(got.n_heads, 4);
  EXPECT_EQ(got.n_kv_heads, 2);
  EXPECT_EQ(got.head_dim, 4);
  EXPECT_EQ(got.ffn_dim, 24);
  EXPECT_EQ(got.rms_eps, 1e-6f);
  EXPECT_EQ(got.rope_theta, 50000.0);
  EXPECT_EQ(got.max_positions, 48);
  EXPECT_EQ(got.tied_embeddings, want.tied_embeddings);
  EXPECT_EQ(got.bos_id, 1);
  EXPECT_EQ(got.eos_id, 2);
  EXPECT_EQ(got.pad_id, 2);
}

void expect_hand_tokenizer(const TokenizerSpec& t) {
  const TokenizerSpec want = test::hand_spec();
  EXPECT_EQ(t.tokens, want.tokens);
  EXPECT_EQ(t.token_types, want.token_types);
  EXPECT_EQ(t.merges, want.merges);
  EXPECT_EQ(t.pre, "smollm");
  EXPECT_EQ(t.bos_id, 1);
  EXPECT_EQ(t.eos_id, 2);
  EXPECT_EQ(t.pad_id, 2);
  EXPECT_FALSE(t.add_bos);
}

TEST(PermuteRowsForGguf, MatchesLlamaCppLayoutOnOneHead) {
  // One head of dim 4, one column: HF rows (r0 r1 | r2 r3) are the two rotate-half halves;
  // llama.cpp interleaves them to r0 r2 r1 r3.
  EXPECT_EQ(testing::permute_rows_for_gguf({0, 1, 2, 3}, 1, 4, 1),
            (std::vector<float>{0, 2, 1, 3}));
  // Two heads of dim 4, two columns: each head is interleaved on its own.
  EXPECT_EQ(
      testing::permute_rows_for_gguf({0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7}, 2, 4, 2),
      (std::vector<float>{0, 0, 2, 2, 1, 1, 3, 3, 4, 4, 6, 6, 5, 5, 7, 7}));
}

class GgufCheckpoint : public ::testing::TestWithParam<bool /*tied*/> {};

TEST_P(GgufCheckpoint, LoadsEveryWeightInHuggingFaceOrder) {
  TempDir dir;
  const LlamaWeights w = tiny_weights(loader_config(GetParam()), 5);
  ASSERT_EQ(w.lm_head.empty(), GetParam());
  testing::write_tiny_gguf(dir.file("tiny.gguf"), w);

  const Checkpoint ck = load_checkpoint(dir.file("tiny.gguf"));
  expect_config(w.config, ck.weights.config);
  EXPECT_EQ(ck.weights.config.name, "tiny-gguf");
  expect_same_weights(w, ck.weights);
  expect_hand_tokenizer(ck.tokenizer);
  EXPECT_EQ(ck.tokenizer.chat_template, testing::kTinyChatTemplate);
  EXPECT_EQ(ck.info.format, "gguf");
  EXPECT_EQ(ck.info.path, dir.file("tiny.gguf"));
  const int64_t tensors = 1 + 2 * 9 + 1 + (GetParam() ? 0 : 1);
  EXPECT_EQ(ck.info.tensor_types, (std::map<std::string, int64_t>{{"F32", tensors}}));
  // V*D embeddings (+ V*D head), per layer 2 norms + q,k,v,o + gate,up,down, final norm.
  const int64_t per_layer = 2 * 16 + 16 * 16 + 8 * 16 + 8 * 16 + 16 * 16 + 3 * 24 * 16;
  EXPECT_EQ(ck.info.file_parameters, 25 * 16 * (GetParam() ? 1 : 2) + 2 * per_layer + 16);
}

TEST_P(GgufCheckpoint, MetadataOnlyLoadReadsConfigAndTokenizerButNoWeights) {
  TempDir dir;
  const LlamaWeights w = tiny_weights(loader_config(GetParam()), 6);
  testing::write_tiny_gguf(dir.file("tiny.gguf"), w);
  const Checkpoint ck = load_checkpoint(dir.file("tiny.gguf"), /*with_weights=*/false);
  expect_config(w.config, ck.weights.config);
  expect_hand_tokenizer(ck.tokenizer);
  EXPECT_TRUE(ck.weights.tok_embeddings.empty());
  ASSERT_EQ(ck.weights.layers.size(), 2u);
  EXPECT_TRUE(ck.weights.layers[1].wq.empty());
}

INSTANTIATE_TEST_SUITE_P(TiedAndUntied, GgufCheckpoint, ::testing::Bool());

TEST(GgufCheckpointErrors, TensorOfTheWrongShape) {
  TempDir dir;
  CheckpointEdits e;
  e.transpose_tensor = "blk.1.ffn_up.weight";
  testing::write_tiny_gguf(dir.file("bad.gguf"), tiny_weights(loader_config(false), 1), e);
  expect_error([&] { load_checkpoint(dir.file("bad.gguf")); },
               {dir.file("bad.gguf"), "blk.1.ffn_up.weight", "[16, 24]", "[24, 16]"});
}

TEST(GgufCheckpointErrors, MissingTensor) {
  TempDir dir;
  CheckpointEdits e;
  e.omit_tensor = "blk.0.attn_k.weight";
  testing::write_tiny_gguf(dir.file("bad.gguf"), tiny_weights(loader_config(false), 1), e);
  expect_error([&] { load_checkpoint(dir.file("bad.gguf")); },
               {dir.file("bad.gguf"), "blk.0.attn_k.weight", "missing"});
}

TEST(GgufCheckpointErrors, ArchitectureOtherThanLlama) {
  TempDir dir;
  CheckpointEdits e;
  e.architecture = "qwen2";
  testing::write_tiny_gguf(dir.file("qwen.gguf"), tiny_weights(loader_config(false), 1), e);
  expect_error([&] { load_checkpoint(dir.file("qwen.gguf")); },
               {dir.file("qwen.gguf"), "'qwen2'", "not supported"});
}

TEST(GgufCheckpointErrors, FileDoesNotExist) {
  TempDir dir;
  expect_error([&] { load_checkpoint(dir.file("nope.gguf")); },
               {dir.file("nope.gguf"), "no such file"});
}

class HfFolderCheckpoint : public ::testing::TestWithParam<bool /*tied*/> {};

TEST_P(HfFolderCheckpoint, LoadsTheSameWeightsAsGguf) {
  TempDir dir;
  const LlamaWeights w = tiny_weights(loader_config(GetParam()), 9);
  const std::string folder = dir.file("tiny-hf");
  std::filesystem::create_directory(folder);
  testing::write_tiny_hf_folder(folder, w);
  testing::write_tiny_gguf(dir.file("tiny.gguf"), w);

  const Checkpoint hf = load_checkpoint(folder);
  expect_config(w.config, hf.weights.config);
  EXPECT_EQ(hf.weights.config.name, "tiny-hf");
  expect_same_weights(w, hf.weights);
  expect_same_weights(load_checkpoint(dir.file("tiny.gguf")).weights, hf.weights);
  expect_hand_tokenizer(hf.tokenizer);
  EXPECT_EQ(hf.tokenizer.chat_template, testing::kTinyChatTemplate);
  EXPECT_EQ(hf.info.format, "huggingface");
  EXPECT_EQ(hf.info.tensor_types,
            (std::map<std::string, int64_t>{{"F32", 1 + 2 * 9 + 1 + (GetParam() ? 0 : 1)}}));
}

INSTANTIATE_TEST_SUITE_P(TiedAndUntied, HfFolderCheckpoint, ::testing::Bool());

TEST(HfFolderCheckpointErrors, MissingConfigJson) {
  TempDir dir;
  testing::write_tiny_hf_folder(dir.path(), tiny_weights(loader_config(false), 1));
  std::filesystem::remove(dir.file("config.json"));
  expect_error([&] { load_checkpoint(dir.path()); }, {"config.json"});
}

TEST(HfFolderCheckpointErrors, MissingTensor) {
  TempDir dir;
  CheckpointEdits e;
  e.omit_tensor = "model.layers.1.mlp.up_proj.weight";
  testing::write_tiny_hf_folder(dir.path(), tiny_weights(loader_config(false), 1), e);
  expect_error([&] { load_checkpoint(dir.path()); },
               {dir.path(), "model.layers.1.mlp.up_proj.weight", "missing"});
}

TEST(HfFolderCheckpointErrors, TensorOfTheWrongShape) {
  TempDir dir;
  CheckpointEdits e;
  e.transpose_tensor = "model.layers.0.self_attn.o_proj.weight";
  LlamaConfig c = loader_config(false);
  c.n_heads = 2;  // q_dim 8 != dim 16, so the transposed o_proj [8, 16] is the wrong shape
  testing::write_tiny_hf_folder(dir.path(), tiny_weights(c, 1), e);
  expect_error([&] { load_checkpoint(dir.path()); },
               {"model.layers.0.self_attn.o_proj.weight", "[8, 16]", "[16, 8]"});
}

TEST(HfFolderCheckpointErrors, UntiedWithoutLmHead) {
  TempDir dir;
  CheckpointEdits e;
  e.omit_tensor = "lm_head.weight";
  // tie_word_embeddings is written false because the weights have a head; the file lacks it.
  testing::write_tiny_hf_folder(dir.path(), tiny_weights(loader_config(false), 1), e);
  expect_error([&] { load_checkpoint(dir.path()); }, {"lm_head.weight", "missing"});
}

TEST(HfFolderCheckpointErrors, ModelTypeOtherThanLlama) {
  TempDir dir;
  CheckpointEdits e;
  e.architecture = "mistral";
  testing::write_tiny_hf_folder(dir.path(), tiny_weights(loader_config(false), 1), e);
  expect_error([&] { load_checkpoint(dir.path()); }, {"'mistral'", "not supported"});
}

TEST(HfFolderCheckpointErrors, MissingTokenizerJson) {
  TempDir dir;
  testing::write_tiny_hf_folder(dir.path(), tiny_weights(loader_config(false), 1));
  std::filesystem::remove(dir.file("tokenizer.json"));
  expect_error([&] { load_checkpoint(dir.path()); }, {"tokenizer.json is missing"});
}

}  // namespace
}  // namespace cipherlora
