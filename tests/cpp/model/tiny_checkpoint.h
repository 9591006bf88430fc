// Tiny Llama checkpoints on disk for loader and CLI tests: a GGUF file laid out as llama.cpp's
// converter writes one (q/k rows permuted for adjacent-pair RoPE, dims fastest-varying first) and
// a Hugging Face folder (config.json, model.safetensors, tokenizer.json, tokenizer_config.json),
// both holding the given fp32 weights and the hand vocabulary of tokenizer/hand_vocab.h.
//
//   LlamaConfig c = hand_vocab_config();                 // tiny_config() sized to the hand vocab
//   LlamaWeights w = tiny_weights(c, 1);
//   write_tiny_gguf(dir.file("tiny.gguf"), w);
//   write_tiny_hf_folder(dir.path(), w);
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/gguf_writer.h"
#include "formats/safetensors.h"
#include "formats/test_util.h"
#include "model/llama_weights.h"
#include "model/tiny_llama.h"
#include "tokenizer/hand_vocab.h"

namespace cipherlora::testing {

// The system prompt the tiny chat template inserts: "ab" tokenizes to one hand-vocab token (16).
inline constexpr const char* kTinyChatTemplate =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nab<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}";

// tiny_config() with the vocabulary of hand_spec() (the model's vocab size must equal it).
inline LlamaConfig hand_vocab_config(bool tied = false) {
  LlamaConfig c = tiny_config(tied);
  c.vocab_size = static_cast<int64_t>(test::hand_spec().tokens.size());
  return c;
}

// llama.cpp's convert_hf_to_gguf permutation of q/k rows, written from its definition
// (reshape(n_head, 2, hd/2, cols).swapaxes(1, 2)): file row h*hd + 2i + j holds HF row
// h*hd + j*(hd/2) + i.
inline std::vector<float> permute_rows_for_gguf(const std::vector<float>& hf,  // [H*hd, cols]
                                                int64_t n_heads, int64_t head_dim, int64_t cols) {
  std::vector<float> file(hf.size());
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < head_dim / 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        for (int64_t col = 0; col < cols; ++col)
          file[(h * head_dim + 2 * i + j) * cols + col] =
              hf[(h * head_dim + j * (head_dim / 2) + i) * cols + col];
  return file;
}

// Changes to a valid file, for error tests.
struct CheckpointEdits {
  std::string architecture = "llama";  // GGUF general.architecture / HF model_type
  std::string omit_tensor;             // leave this tensor out
  std::string transpose_tensor;        // write this 2-D tensor with its two dims swapped
};

struct TinyTensor {
  std::string name;
  std::vector<int64_t> shape;  // row-major (HF order)
  std::vector<float> data;
};

inline std::vector<TinyTensor> apply_edits(std::vector<TinyTensor> tensors,
                                           const CheckpointEdits& edits) {
  std::vector<TinyTensor> out;
  for (TinyTensor& t : tensors) {
    if (t.name == edits.omit_tensor) continue;
    if (t.name == edits.transpose_tensor) std::swap(t.shape[0], t.shape[1]);
    out.push_back(std::move(t));
  }
  return out;
}

// GGUF names and row-major shapes of every weight, q/k already permuted.
inline std::vector<TinyTensor> gguf_tensors(const LlamaWeights& w) {
  const LlamaConfig& c = w.config;
  const int64_t D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim, V = c.vocab_size;
  std::vector<TinyTensor> t;
  t.push_back({"token_embd.weight", {V, D}, w.tok_embeddings});
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LlamaLayerWeights& L = w.layers[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    t.push_back({p + "attn_norm.weight", {D}, L.attn_norm});
    t.push_back(
        {p + "attn_q.weight", {Q, D}, permute_rows_for_gguf(L.wq, c.n_heads, c.head_dim, D)});
    t.push_back(
        {p + "attn_k.weight", {KV, D}, permute_rows_for_gguf(L.wk, c.n_kv_heads, c.head_dim, D)});
    t.push_back({p + "attn_v.weight", {KV, D}, L.wv});
    t.push_back({p + "attn_output.weight", {D, Q}, L.wo});
    t.push_back({p + "ffn_norm.weight", {D}, L.ffn_norm});
    t.push_back({p + "ffn_gate.weight", {F, D}, L.w_gate});
    t.push_back({p + "ffn_up.weight", {F, D}, L.w_up});
    t.push_back({p + "ffn_down.weight", {D, F}, L.w_down});
  }
  t.push_back({"output_norm.weight", {D}, w.final_norm});
  if (!w.lm_head.empty()) t.push_back({"output.weight", {V, D}, w.lm_head});
  return t;
}

// Writes w (config and weights) plus hand_spec()'s tokenizer as an F32 GGUF file.
inline void write_tiny_gguf(const std::string& path, const LlamaWeights& w,
                            const CheckpointEdits& edits = {}) {
  const LlamaConfig& c = w.config;
  const TokenizerSpec spec = test::hand_spec();
  GgufWriter g;
  g.set_string("general.architecture", edits.architecture);
  g.set_string("general.name", "tiny-gguf");
  const std::string a = edits.architecture + ".";
  g.set_u32(a + "block_count", static_cast<uint32_t>(c.n_layers));
  g.set_u32(a + "embedding_length", static_cast<uint32_t>(c.dim));
  g.set_u32(a + "feed_forward_length", static_cast<uint32_t>(c.ffn_dim));
  g.set_u32(a + "attention.head_count", static_cast<uint32_t>(c.n_heads));
  g.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(c.n_kv_heads));
  g.set_f32(a + "attention.layer_norm_rms_epsilon", c.rms_eps);
  g.set_f32(a + "rope.freq_base", static_cast<float>(c.rope_theta));
  g.set_u32(a + "context_length", static_cast<uint32_t>(c.max_positions));
  g.set_string("tokenizer.ggml.model", "gpt2");
  g.set_string("tokenizer.ggml.pre", spec.pre);
  g.set_string_array("tokenizer.ggml.tokens", spec.tokens);
  g.set_i32_array("tokenizer.ggml.token_type", spec.token_types);
  g.set_string_array("tokenizer.ggml.merges", spec.merges);
  g.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(spec.bos_id));
  g.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(spec.eos_id));
  g.set_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(spec.pad_id));
  g.set_string("tokenizer.chat_template", kTinyChatTemplate);
  for (const TinyTensor& t : apply_edits(gguf_tensors(w), edits)) {
    std::vector<int64_t> dims(t.shape.rbegin(), t.shape.rend());  // GGUF: fastest-varying first
    g.add_tensor_f32(t.name, dims, t.data);
  }
  g.write(path);
}

// The hand vocabulary as a Hugging Face tokenizer.json (SmolLM2's pre-tokenizer: digits alone,
// then byte-level) whose control/user-defined tokens are added tokens (special / not special).
inline nlohmann::json hand_tokenizer_json() {
  const TokenizerSpec spec = test::hand_spec();
  nlohmann::json vocab = nlohmann::json::object();
  nlohmann::json added = nlohmann::json::array();
  for (size_t i = 0; i < spec.tokens.size(); ++i) {
    vocab[spec.tokens[i]] = i;
    if (spec.token_types[i] == kTokenControl || spec.token_types[i] == kTokenUserDefined) {
      added.push_back({{"id", i},
                       {"content", spec.tokens[i]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", spec.token_types[i] == kTokenControl}});
    }
  }
  nlohmann::json byte_level = {{"type", "ByteLevel"},
                               {"add_prefix_space", false},
                               {"trim_offsets", true},
                               {"use_regex", true}};
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         nlohmann::json::array({{{"type", "Digits"}, {"individual_digits", true}}, byte_level})}}},
      {"post_processor", byte_level},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"vocab", vocab},
        {"merges", spec.merges}}}};
}

// Writes w as a Hugging Face Llama folder (F32 model.safetensors, HF names, no permutation).
inline void write_tiny_hf_folder(const std::string& dir, const LlamaWeights& w,
                                 const CheckpointEdits& edits = {}) {
  const LlamaConfig& c = w.config;
  const nlohmann::json config = {{"architectures", {"LlamaForCausalLM"}},
                                 {"model_type", edits.architecture},
                                 {"vocab_size", c.vocab_size},
                                 {"hidden_size", c.dim},
                                 {"num_hidden_layers", c.n_layers},
                                 {"num_attention_heads", c.n_heads},
                                 {"num_key_value_heads", c.n_kv_heads},
                                 {"head_dim", c.head_dim},
                                 {"intermediate_size", c.ffn_dim},
                                 {"rms_norm_eps", c.rms_eps},
                                 {"rope_theta", c.rope_theta},
                                 {"max_position_embeddings", c.max_positions},
                                 {"tie_word_embeddings", w.lm_head.empty()},
                                 {"torch_dtype", "float32"}};
  test::write_text(dir + "/config.json", config.dump(2));
  test::write_text(dir + "/tokenizer.json", hand_tokenizer_json().dump(2));
  const nlohmann::json tok_config = {{"bos_token", "<|im_start|>"},
                                     {"eos_token", "<|im_end|>"},
                                     {"pad_token", "<|im_end|>"},
                                     {"unk_token", "<|endoftext|>"},
                                     {"chat_template", kTinyChatTemplate}};
  test::write_text(dir + "/tokenizer_config.json", tok_config.dump(2));

  const int64_t D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim, V = c.vocab_size;
  std::vector<TinyTensor> t;
  t.push_back({"model.embed_tokens.weight", {V, D}, w.tok_embeddings});
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LlamaLayerWeights& L = w.layers[l];
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back({p + "input_layernorm.weight", {D}, L.attn_norm});
    t.push_back({p + "self_attn.q_proj.weight", {Q, D}, L.wq});
    t.push_back({p + "self_attn.k_proj.weight", {KV, D}, L.wk});
    t.push_back({p + "self_attn.v_proj.weight", {KV, D}, L.wv});
    t.push_back({p + "self_attn.o_proj.weight", {D, Q}, L.wo});
    t.push_back({p + "post_attention_layernorm.weight", {D}, L.ffn_norm});
    t.push_back({p + "mlp.gate_proj.weight", {F, D}, L.w_gate});
    t.push_back({p + "mlp.up_proj.weight", {F, D}, L.w_up});
    t.push_back({p + "mlp.down_proj.weight", {D, F}, L.w_down});
  }
  t.push_back({"model.norm.weight", {D}, w.final_norm});
  if (!w.lm_head.empty()) t.push_back({"lm_head.weight", {V, D}, w.lm_head});
  std::vector<NamedTensor> named;
  for (TinyTensor& x : apply_edits(std::move(t), edits))
    named.push_back({x.name, x.shape, std::move(x.data)});
  write_safetensors(dir + "/model.safetensors", named, {{"format", "pt"}});
}

}  // namespace cipherlora::testing
