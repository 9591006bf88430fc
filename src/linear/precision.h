// The arithmetic of the frozen base in clear mode. fp32 is the reference every test compares
// against; bf16 rounds the frozen weights once and the activations/gradients on every call to
// bfloat16 and multiplies on the CPU's bf16 dot-product units (tensor/bf16_gemm.h), with fp32
// accumulation and output — about twice the GEMM throughput for ~3 significant digits per input.
// Only the frozen linears and the LM head change; LoRA, norms, attention, the loss and the
// optimizer stay fp32.
//
//   Precision p = parse_precision("bf16");        // from --base-precision
//   auto factory = clear_backend_factory(p);       // linear/clear_backend.h
//   model.set_head_precision(p);                   // model/llama_model.h
#pragma once

#include <string>

#include "common/error.h"

namespace cipherlora {

enum class Precision { fp32, bf16 };

inline const char* precision_name(Precision p) {
  return p == Precision::bf16 ? "bf16" : "fp32";
}

// "fp32" or "bf16"; anything else throws Error.
inline Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::fp32;
  if (s == "bf16") return Precision::bf16;
  throw Error("unknown precision " + s + " (expected fp32 or bf16)");
}

}  // namespace cipherlora
