// What every model-using command needs: the checkpoint loaded into an engine, its tokenizer, and
// optionally a PEFT adapter, found from --model (default: the installed SmolLM2) and --adapter.
//
//   ModelSession s = open_model_session(model_flag, adapter_flag, clear_backend_factory());
//   std::vector<int32_t> ids = s.tokenizer->encode("Hello");
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "linear/linear_backend.h"
#include "model/llama_model.h"
#include "tokenizer/bpe_tokenizer.h"

namespace cipherlora {

// The model used when --model is not given: $CIPHERLORA_MODEL, else the SmolLM2 GGUF that
// scripts/setup.sh installs into <repo>/models/. Throws Error when none is found.
std::string default_model_path();

struct ModelSession {
  std::string model_path;
  LlamaConfig config;
  CheckpointInfo info;
  std::string default_system;  // system prompt the chat template inserts, "" if none
  bool has_chat_template = false;
  std::unique_ptr<BpeTokenizer> tokenizer;
  std::unique_ptr<LlamaModel> model;
  std::unique_ptr<LoraAdapter> adapter;  // null without --adapter
};

// model_path "" = default_model_path(); adapter_dir "" = none. with_model=false loads only the
// tokenizer and metadata (for `tokenize`/`info`, which need no engine).
// `factory` builds the frozen linears (default: the clear fp32 backend).
ModelSession open_model_session(const std::string& model_path, const std::string& adapter_dir,
                                bool with_model = true,
                                const LinearBackendFactory& factory = nullptr);

}  // namespace cipherlora
