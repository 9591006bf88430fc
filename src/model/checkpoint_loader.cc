// Loads Llama-family weights from GGUF or from a Hugging Face folder into LlamaWeights.
#include <filesystem>

#include "common/error.h"
#include "formats/gguf_reader.h"
#include "formats/hf_checkpoint.h"
#include "model/llama_weights.h"
#include "tokenizer/tokenizer_json.h"

namespace cipherlora {
namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// GGUF stores Llama's q/k rows permuted for adjacent-pair RoPE: within each head, row 2i+j holds
// what Hugging Face keeps at row j*(hd/2)+i. Undo it so every weight is in HF's rotate-half order.
std::vector<float> unpermute_rope_rows(const std::vector<float>& w, int64_t n_heads,
                                       int64_t head_dim, int64_t cols) {
  if (w.empty()) return w;  // metadata-only load
  std::vector<float> out(w.size());
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const float* src = &w[(h * head_dim + 2 * i + j) * cols];
        float* dst = &out[(h * head_dim + j * half + i) * cols];
        std::copy(src, src + cols, dst);
      }
  return out;
}

class GgufLoader {
 public:
  GgufLoader(const std::string& path, bool weights) : f_(GgufFile::open(path)), weights_(weights) {}

  Checkpoint load() {
    Checkpoint ck;
    const std::string arch = f_.has("general.architecture") ? f_.get_string("general.architecture")
                                                            : std::string("(none)");
    require(arch == "llama",
            "gguf " + f_.path() + ": architecture '" + arch + "' is not supported (only llama)");
    LlamaConfig& c = ck.weights.config;
    c.name = f_.has("general.name") ? f_.get_string("general.name") : "llama";
    c.n_layers = f_.get_int("llama.block_count");
    c.dim = f_.get_int("llama.embedding_length");
    c.ffn_dim = f_.get_int("llama.feed_forward_length");
    c.n_heads = f_.get_int("llama.attention.head_count");
    c.n_kv_heads = f_.has("llama.attention.head_count_kv")
                       ? f_.get_int("llama.attention.head_count_kv")
                       : c.n_heads;
    c.head_dim = f_.has("llama.attention.key_length") ? f_.get_int("llama.attention.key_length")
                 : c.n_heads > 0                      ? c.dim / c.n_heads
                                                      : 0;
    c.rms_eps = static_cast<float>(f_.get_float("llama.attention.layer_norm_rms_epsilon"));
    c.rope_theta = f_.has("llama.rope.freq_base") ? f_.get_float("llama.rope.freq_base") : 10000.0;
    c.max_positions = f_.has("llama.context_length") ? f_.get_int("llama.context_length") : 2048;
    require(
        !f_.has("llama.rope.scaling.type") || f_.get_string("llama.rope.scaling.type") == "none",
        "gguf " + f_.path() + ": RoPE scaling is not supported");

    TokenizerSpec& t = ck.tokenizer;
    require(f_.has("tokenizer.ggml.model") && f_.get_string("tokenizer.ggml.model") == "gpt2",
            "gguf " + f_.path() + ": only byte-level BPE ('gpt2') tokenizers are supported");
    t.tokens = f_.get_string_array("tokenizer.ggml.tokens");
    if (f_.has("tokenizer.ggml.token_type")) {
      for (int64_t v : f_.get_int_array("tokenizer.ggml.token_type"))
        t.token_types.push_back(static_cast<int32_t>(v));
    }
    t.merges = f_.get_string_array("tokenizer.ggml.merges");
    t.pre = f_.has("tokenizer.ggml.pre") ? f_.get_string("tokenizer.ggml.pre") : "gpt2";
    auto id_or = [&](const char* key) {
      return f_.has(key) ? static_cast<int32_t>(f_.get_int(key)) : -1;
    };
    t.bos_id = id_or("tokenizer.ggml.bos_token_id");
    t.eos_id = id_or("tokenizer.ggml.eos_token_id");
    t.unk_id = id_or("tokenizer.ggml.unknown_token_id");
    t.pad_id = id_or("tokenizer.ggml.padding_token_id");
    t.add_bos =
        f_.has("tokenizer.ggml.add_bos_token") && f_.get_bool("tokenizer.ggml.add_bos_token");
    t.special_tokens = special_tokens_from_types(t);
    c.vocab_size = static_cast<int64_t>(t.tokens.size());
    c.bos_id = t.bos_id;
    c.eos_id = t.eos_id;
    c.pad_id = t.pad_id;
    if (f_.has("tokenizer.chat_template"))
      t.chat_template = f_.get_string("tokenizer.chat_template");
    c.validate();

    LlamaWeights& w = ck.weights;
    w.tok_embeddings = tensor("token_embd.weight", {c.vocab_size, c.dim});
    w.layers.resize(c.n_layers);
    for (int64_t l = 0; l < c.n_layers; ++l) {
      const std::string p = "blk." + std::to_string(l) + ".";
      LlamaLayerWeights& L = w.layers[l];
      L.attn_norm = tensor(p + "attn_norm.weight", {c.dim});
      L.wq = unpermute_rope_rows(tensor(p + "attn_q.weight", {c.q_dim(), c.dim}), c.n_heads,
                                 c.head_dim, c.dim);
      L.wk = unpermute_rope_rows(tensor(p + "attn_k.weight", {c.kv_dim(), c.dim}), c.n_kv_heads,
                                 c.head_dim, c.dim);
      L.wv = tensor(p + "attn_v.weight", {c.kv_dim(), c.dim});
      L.wo = tensor(p + "attn_output.weight", {c.dim, c.q_dim()});
      L.ffn_norm = tensor(p + "ffn_norm.weight", {c.dim});
      L.w_gate = tensor(p + "ffn_gate.weight", {c.ffn_dim, c.dim});
      L.w_up = tensor(p + "ffn_up.weight", {c.ffn_dim, c.dim});
      L.w_down = tensor(p + "ffn_down.weight", {c.dim, c.ffn_dim});
    }
    w.final_norm = tensor("output_norm.weight", {c.dim});
    c.tied_embeddings = f_.find_tensor("output.weight") == nullptr;
    if (!c.tied_embeddings) w.lm_head = tensor("output.weight", {c.vocab_size, c.dim});

    ck.info.path = f_.path();
    ck.info.format = "gguf";
    for (const GgufTensorInfo& ti : f_.tensors()) {
      ck.info.tensor_types[GgufFile::type_name(ti.type)]++;
      ck.info.file_parameters += ti.n_elements();
    }
    return ck;
  }

 private:
  // Reads a tensor and checks its shape, given in Hugging Face order ([out, in]).
  std::vector<float> tensor(const std::string& name, std::vector<int64_t> hf_shape) {
    const GgufTensorInfo* ti = f_.find_tensor(name);
    require(ti != nullptr, "gguf " + f_.path() + ": tensor " + name + " is missing");
    std::vector<int64_t> shape(ti->dims.rbegin(), ti->dims.rend());
    require(shape == hf_shape, "gguf " + f_.path() + ": tensor " + name + " has shape " +
                                   shape_str(shape) + ", expected " + shape_str(hf_shape));
    return weights_ ? f_.read_f32(*ti) : std::vector<float>{};
  }

  GgufFile f_;
  bool weights_;
};

class HfLoader {
 public:
  HfLoader(const std::string& dir, bool weights)
      : dir_(dir), ck_(HfCheckpoint::open(dir)), weights_(weights) {}

  Checkpoint load() {
    Checkpoint ck;
    const nlohmann::json& j = ck_.config();
    const std::string type = j.value("model_type", std::string("(none)"));
    require(type == "llama",
            "model " + dir_ + ": model_type '" + type + "' is not supported (only llama)");
    require(!j.value("attention_bias", false) && !j.value("mlp_bias", false),
            "model " + dir_ + ": linear biases are not supported");
    require(!j.contains("rope_scaling") || j["rope_scaling"].is_null(),
            "model " + dir_ + ": rope_scaling is not supported");
    LlamaConfig& c = ck.weights.config;
    try {
      c.name = std::filesystem::path(dir_).filename().string();
      c.vocab_size = j.at("vocab_size").get<int64_t>();
      c.dim = j.at("hidden_size").get<int64_t>();
      c.n_layers = j.at("num_hidden_layers").get<int64_t>();
      c.n_heads = j.at("num_attention_heads").get<int64_t>();
      c.n_kv_heads = j.value("num_key_value_heads", c.n_heads);
      c.head_dim = j.contains("head_dim") && !j["head_dim"].is_null() ? j["head_dim"].get<int64_t>()
                                                                      : c.dim / c.n_heads;
      c.ffn_dim = j.at("intermediate_size").get<int64_t>();
      c.rms_eps = j.value("rms_norm_eps", 1e-6f);
      c.rope_theta = j.value("rope_theta", 10000.0);
      c.max_positions = j.value("max_position_embeddings", int64_t{2048});
      c.tied_embeddings = j.value("tie_word_embeddings", false);
    } catch (const nlohmann::json::exception& e) {
      throw Error("model " + dir_ + "/config.json: " + e.what());
    }

    const std::string tok_json = dir_ + "/tokenizer.json";
    require(std::filesystem::exists(tok_json), "model " + dir_ + ": tokenizer.json is missing");
    ck.tokenizer = spec_from_tokenizer_json(tok_json);
    c.bos_id = ck.tokenizer.bos_id;
    c.eos_id = ck.tokenizer.eos_id;
    c.pad_id = ck.tokenizer.pad_id;
    c.validate();

    LlamaWeights& w = ck.weights;
    w.tok_embeddings = tensor("model.embed_tokens.weight", {c.vocab_size, c.dim});
    w.layers.resize(c.n_layers);
    for (int64_t l = 0; l < c.n_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      LlamaLayerWeights& L = w.layers[l];
      L.attn_norm = tensor(p + "input_layernorm.weight", {c.dim});
      L.wq = tensor(p + "self_attn.q_proj.weight", {c.q_dim(), c.dim});
      L.wk = tensor(p + "self_attn.k_proj.weight", {c.kv_dim(), c.dim});
      L.wv = tensor(p + "self_attn.v_proj.weight", {c.kv_dim(), c.dim});
      L.wo = tensor(p + "self_attn.o_proj.weight", {c.dim, c.q_dim()});
      L.ffn_norm = tensor(p + "post_attention_layernorm.weight", {c.dim});
      L.w_gate = tensor(p + "mlp.gate_proj.weight", {c.ffn_dim, c.dim});
      L.w_up = tensor(p + "mlp.up_proj.weight", {c.ffn_dim, c.dim});
      L.w_down = tensor(p + "mlp.down_proj.weight", {c.dim, c.ffn_dim});
    }
    w.final_norm = tensor("model.norm.weight", {c.dim});
    if (!c.tied_embeddings || ck_.has_tensor("lm_head.weight")) {
      if (ck_.has_tensor("lm_head.weight")) {
        w.lm_head = tensor("lm_head.weight", {c.vocab_size, c.dim});
        c.tied_embeddings = false;
      } else {
        throw Error("model " + dir_ + ": lm_head.weight is missing and embeddings are not tied");
      }
    }

    ck.info.path = dir_;
    ck.info.format = "huggingface";
    for (const std::string& n : ck_.tensor_names()) {
      ck.info.tensor_types[ck_.dtype(n)]++;
      int64_t numel = 1;
      for (int64_t d : ck_.shape(n)) numel *= d;
      ck.info.file_parameters += numel;
    }
    return ck;
  }

 private:
  std::vector<float> tensor(const std::string& name, const std::vector<int64_t>& shape) {
    require(ck_.has_tensor(name), "model " + dir_ + ": tensor " + name + " is missing");
    std::vector<int64_t> got = ck_.shape(name);
    require(got == shape, "model " + dir_ + ": tensor " + name + " has shape " + shape_str(got) +
                              ", expected " + shape_str(shape));
    return weights_ ? ck_.read_f32(name) : std::vector<float>{};
  }

  std::string dir_;
  HfCheckpoint ck_;
  bool weights_;
};

}  // namespace

Checkpoint load_checkpoint(const std::string& path, bool with_weights) {
  namespace fs = std::filesystem;
  require(fs::exists(path), "model " + path + ": no such file or folder");
  if (fs::is_directory(path)) return HfLoader(path, with_weights).load();
  return GgufLoader(path, with_weights).load();
}

}  // namespace cipherlora
