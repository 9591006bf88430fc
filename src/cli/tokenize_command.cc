// `cipherlora tokenize --model M --text TEXT`: token ids, space-separated, on one line.
#include <cstdio>

#include "cli/commands.h"
#include "model/model_session.h"

namespace cipherlora {

void register_tokenize_command(CLI::App& app) {
  struct Opts {
    std::string model, text;
  };
  auto opts = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("tokenize", "print the token ids of a text");
  cmd->add_option("--model", opts->model, "a .gguf file or Hugging Face folder (default: SmolLM2)");
  cmd->add_option("--text", opts->text, "the text to tokenize")->required();
  cmd->callback([opts] {
    ModelSession s = open_model_session(opts->model, "", /*with_model=*/false);
    std::string line;
    for (int32_t id : s.tokenizer->encode(opts->text)) {
      if (!line.empty()) line += ' ';
      line += std::to_string(id);
    }
    std::printf("%s\n", line.c_str());
  });
}

}  // namespace cipherlora
