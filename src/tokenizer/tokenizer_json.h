// Reads a Hugging Face tokenizer.json (a byte-level BPE model: GPT-2, SmolLM2, Llama 3 style) into
// a TokenizerSpec, with tokenizer_config.json from the same folder when present (bos/eos/unk/pad
// tokens, add_bos_token, chat_template).
//
//   BpeTokenizer tok(spec_from_tokenizer_json("/models/smollm2/tokenizer.json"));
//
// Recognised pre-tokenizers: ByteLevel(use_regex) -> "gpt2"; Sequence[Digits(individual_digits),
// ByteLevel(use_regex)] -> "smollm"; Sequence[Split(Regex, isolated), ByteLevel(no regex)] ->
// "llama3" or "regex" with that pattern. Anything else (a normalizer, a non-BPE model, byte
// fallback, prefix spaces, word suffixes) throws Error naming what is not supported.
#pragma once

#include <string>

#include "tokenizer/tokenizer_spec.h"

namespace cipherlora {

TokenizerSpec spec_from_tokenizer_json(const std::string& tokenizer_json_path);

}  // namespace cipherlora
