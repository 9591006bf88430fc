// Everything a byte-level BPE tokenizer needs, as plain data. Loaders fill it (GGUF metadata
// `tokenizer.ggml.*`, or a Hugging Face tokenizer.json via spec_from_tokenizer_json) and
// BpeTokenizer consumes it, so the tokenizer does not depend on any file format.
//
//   TokenizerSpec spec;
//   spec.tokens = gguf.strings("tokenizer.ggml.tokens");        // id -> "Ġhello", "<|im_end|>",
//   ... spec.token_types = gguf.ints("tokenizer.ggml.token_type"); spec.merges =
//   gguf.strings("tokenizer.ggml.merges");        // "Ġ t", "i n", ... best first spec.pre =
//   gguf.string("tokenizer.ggml.pre");               // "smollm" spec.bos_id = 1; spec.eos_id = 2;
//   spec.unk_id = 0; spec.pad_id = 2; spec.special_tokens = special_tokens_from_types(spec);     //
//   control + user-defined tokens BpeTokenizer tokenizer(std::move(spec));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cipherlora {

// GGUF token types (llama.cpp's llama_token_type).
enum TokenType : int32_t {
  kTokenNormal = 1,
  kTokenUnknown = 2,
  kTokenControl = 3,      // special: <|im_start|>, <|endoftext|>; skipped by decode(skip_special)
  kTokenUserDefined = 4,  // added token matched whole in text but not special (e.g. <think>)
  kTokenUnused = 5,
  kTokenByte = 6,
};

struct TokenizerSpec {
  std::vector<std::string> tokens;   // id -> token string, GPT-2 byte-to-unicode encoded as stored
  std::vector<int32_t> token_types;  // id -> TokenType; empty = all normal
  std::vector<std::string> merges;   // "left right", best (lowest rank) first
  // Pre-tokenizer: "smollm" (every number character alone, then the GPT-2 regex), "gpt2" (GPT-2
  // regex only; also "gpt-2"), "llama3" (Llama 3 regex; also "llama-bpe", "llama-v3"), or "regex"
  // (pre_pattern, in Hugging Face / Oniguruma syntax).
  std::string pre = "smollm";
  std::string pre_pattern;
  bool ignore_merges = false;  // HF BPE option: a pre-token that is a vocab entry stays whole
  int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1;
  bool add_bos = false;  // prepend BOS on encode (HF's add_bos_token)
  // Literal strings matched in text before pre-tokenization (leftmost, then longest), each the
  // exact text of a vocab entry: control and user-defined tokens, or tokenizer.json added_tokens.
  std::vector<std::string> special_tokens;
  std::string chat_template;  // Jinja source when the file has one; informational only
};

// The tokens GGUF marks control (3) or user-defined (4): what llama.cpp and transformers match
// whole in text.
std::vector<std::string> special_tokens_from_types(const TokenizerSpec& spec);

}  // namespace cipherlora
