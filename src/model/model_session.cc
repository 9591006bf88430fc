#include "model/model_session.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "common/error.h"
#include "linear/clear_backend.h"
#include "model/peft_adapter.h"
#include "tokenizer/chat_template.h"

namespace cipherlora {
namespace fs = std::filesystem;

std::string default_model_path() {
  if (const char* env = std::getenv("CIPHERLORA_MODEL"); env != nullptr && *env != '\0') return env;
  const std::string file = "SmolLM2-135M-Instruct.Q4_1.gguf";
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path().parent_path() / "models" / file);  // build/cipherlora
    candidates.push_back(exe.parent_path() / "models" / file);
  }
  candidates.push_back(fs::current_path() / "models" / file);
  for (const fs::path& p : candidates)
    if (fs::exists(p)) return p.string();
  throw Error("no --model given and the default model (" + file +
              ") is not installed: run scripts/setup.sh or pass --model");
}

ModelSession open_model_session(const std::string& model_path, const std::string& adapter_dir,
                                bool with_model, const LinearBackendFactory& factory) {
  ModelSession s;
  s.model_path = model_path.empty() ? default_model_path() : model_path;
  Checkpoint ck = load_checkpoint(s.model_path, with_model);
  s.config = ck.weights.config;
  s.info = ck.info;
  s.default_system = chatml_default_system(ck.tokenizer.chat_template).value_or("");
  s.has_chat_template = ck.tokenizer.chat_template.find("<|im_start|>") != std::string::npos;
  s.tokenizer = std::make_unique<BpeTokenizer>(std::move(ck.tokenizer));
  if (with_model) {
    s.model = std::make_unique<LlamaModel>(std::move(ck.weights),
                                           factory ? factory : clear_backend_factory());
    if (!adapter_dir.empty()) {
      s.adapter = std::make_unique<LoraAdapter>(load_peft_adapter(adapter_dir, s.config));
      s.model->set_adapter(s.adapter.get());
    }
  }
  return s;
}

}  // namespace cipherlora
