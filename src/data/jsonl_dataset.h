// Training and evaluation data: JSONL files whose lines are one of
//   {"text": "..."}                                   loss on every token
//   {"prompt": "...", "completion": "..."}            loss on the completion only
//   {"messages": [{"role": "user", "content": "..."}, ...]}   loss on assistant turns only
// turned into token ids and a per-token "is a target" mask, tokenized exactly as the model's
// Hugging Face tokenizer does. Following TRL's SFTTrainer, "text" and "completion" examples end
// with the EOS token (the model learns to stop); chats are rendered with the ChatML template and
// each assistant turn's target is its content plus the closing <|im_end|>.
//
//   DatasetOptions opt;  opt.default_system = ck.default_system;
//   std::vector<Example> ex = load_jsonl("data.jsonl", tokenizer, opt);
//   TokenBatch batch = make_batch({&ex[0], &ex[1]}, /*max_len=*/256, tokenizer.pad_id());
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/llama_model.h"
#include "tokenizer/bpe_tokenizer.h"

namespace cipherlora {

struct Example {
  std::vector<int32_t> tokens;     // [n]
  std::vector<uint8_t> is_target;  // [n]  1 where the model is trained to predict tokens[i]
  int64_t line = 0;                // 1-based line in the source file, for messages
  int64_t n_targets(
      int64_t max_len) const;  // targets among the first max_len tokens (not tokens[0])
};

struct DatasetOptions {
  std::string default_system;  // system prompt the chat template inserts when a chat has none
  bool append_eos = true;      // end "text"/"completion" examples with EOS, as TRL does
};

// Encodes one JSONL record. Throws Error naming the problem (the caller adds the line number).
Example encode_record(const nlohmann::json& record, const BpeTokenizer& tok,
                      const DatasetOptions& opt);

// Reads a whole file; blank lines are skipped. Throws Error("FILE line N: ...") on a malformed
// line and Error("FILE holds no examples") when empty.
std::vector<Example> load_jsonl(const std::string& path, const BpeTokenizer& tok,
                                const DatasetOptions& opt);

// One right-padded batch: rows truncated to max_len tokens, padded to the longest row with pad_id;
// targets[b, t] = tokens[b, t+1] where that token is a target, else -100.
TokenBatch make_batch(const std::vector<const Example*>& examples, int64_t max_len, int32_t pad_id);

}  // namespace cipherlora
