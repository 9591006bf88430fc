// cipherlora: fine-tune open LLMs on private data. This is the command-line entry point; every
// subcommand lives in its own file (info_command.cc, eval_command.cc, ...).
#include <algorithm>
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "common/error.h"
#include "tensor/threads.h"

int main(int argc, char** argv) {
  CLI::App app{"cipherlora: private LoRA fine-tuning of open LLMs"};
  app.require_subcommand(1);
  // Errors are one line on stderr (CLI11's own formats add a "Run with --help" line).
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("error: ") + e.what() + "\n";
  });
  int threads = 0;
  app.add_option("--threads", threads, "worker threads (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  app.parse_complete_callback([&] {
    if (threads > 0) cipherlora::set_num_threads(threads);
  });
  cipherlora::register_info_command(app);
  cipherlora::register_tokenize_command(app);
  cipherlora::register_eval_command(app);
  cipherlora::register_generate_command(app);
  cipherlora::register_train_command(app);
  cipherlora::register_demo_data_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 checks required options before unknown ones, so "eval --bogus" would blame the
    // missing --data; the unknown argument is the likelier mistake, so name it first (in
    // command-line order: ExtrasError lists its arguments back to front).
    if (e.get_exit_code() != 0) {
      std::vector<std::string> unknown = app.remaining();
      for (const CLI::App* sub : app.get_subcommands())
        for (const std::string& arg : sub->remaining()) unknown.push_back(arg);
      std::reverse(unknown.begin(), unknown.end());
      if (!unknown.empty()) return app.exit(CLI::ExtrasError(unknown));
    }
    return app.exit(e);
  } catch (const cipherlora::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
