// The `cipherlora` subcommands. Each registers itself on the CLI11 app; main() dispatches and turns
// any cipherlora::Error into one line on stderr and a non-zero exit.
#pragma once

#include <CLI/CLI.hpp>

namespace cipherlora {

void register_info_command(CLI::App& app);
void register_tokenize_command(CLI::App& app);
void register_eval_command(CLI::App& app);
void register_generate_command(CLI::App& app);
void register_train_command(CLI::App& app);
void register_demo_data_command(CLI::App& app);

}  // namespace cipherlora
