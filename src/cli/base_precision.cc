#include "cli/base_precision.h"

#include <cstdio>

#include "tensor/bf16_gemm.h"

namespace cipherlora {

void add_base_precision_option(CLI::App* cmd, std::string& value) {
  cmd->add_option("--base-precision", value,
                  "arithmetic of the frozen base and LM head in clear mode: fp32 (reference) or "
                  "bf16 (faster on CPUs with AVX512_BF16/AMX)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16"}));
}

Precision base_precision(const std::string& flag) {
  const Precision p = parse_precision(flag);
  if (p == Precision::bf16 && !bf16_gemm_is_native())
    std::fprintf(stderr,
                 "warning: this CPU has no native bf16 arithmetic, so --base-precision bf16 will "
                 "be slow here (%s)\n",
                 bf16_gemm_kernel_name().c_str());
  return p;
}

}  // namespace cipherlora
