// `cipherlora demo-data --out DIR`: writes the bundled demo data set (a fictional clinic's
// knowledge as chats) to DIR/train.jsonl and DIR/eval.jsonl (held-out paraphrased questions).
#include <cstdio>

#include "cli/commands.h"
#include "data/demo_dataset.h"

namespace cipherlora {

void register_demo_data_command(CLI::App& app) {
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("demo-data", "write the bundled demo data set");
  cmd->add_option("--out", *out, "folder for train.jsonl and eval.jsonl")->required();
  cmd->callback([out] {
    write_demo_dataset(*out);
    const DemoDataset d = make_demo_dataset();
    std::printf("wrote %zu training and %zu held-out examples to %s\n", d.train.size(),
                d.held_out.size(), out->c_str());
  });
}

}  // namespace cipherlora
