// `--base-precision fp32|bf16`, shared by the commands that run the model in clear mode (train,
// eval, generate): the option itself, and turning its value into a Precision with the one-line
// warning when this CPU has no native bf16 arithmetic.
//
//   std::string flag = "fp32";
//   add_base_precision_option(cmd, flag);
//   ...
//   const Precision p = base_precision(flag);   // may warn on stderr
//   ModelSession s = open_model_session(model, adapter, true, clear_backend_factory(p));
//   s.model->set_head_precision(p);
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "linear/precision.h"

namespace cipherlora {

void add_base_precision_option(CLI::App* cmd, std::string& value);

// parse_precision(flag); for bf16 without AVX512_BF16/AMX it prints one "warning: ..." line to
// stderr (bf16 then still works, on widened operands, but slower than fp32).
Precision base_precision(const std::string& flag);

}  // namespace cipherlora
