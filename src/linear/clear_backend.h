// The `clear` linear backend: the frozen weight multiplied locally with one GEMM per call.
// In fp32 (the default) it is the reference every other backend is compared against. In bf16
// (`--base-precision bf16`) the weight is rounded to bfloat16 once, the input of every call is
// rounded too, and the product runs on bf16 units with fp32 accumulation and output: about twice
// as fast where the CPU has AVX512_BF16/AMX, within bf16 rounding of the fp32 result.
//
//   LinearBackendFactory f = clear_backend_factory();                 // fp32
//   LinearBackendFactory g = clear_backend_factory(Precision::bf16);
//   auto lin = f("layers.0.o", std::move(w), 576, 576);
#pragma once

#include "linear/linear_backend.h"
#include "linear/precision.h"

namespace cipherlora {

// weight: [out, in] row-major fp32. With bf16 only the rounded copy is kept (clear_weight() is
// then nullptr).
std::unique_ptr<LinearBackend> make_clear_backend(const std::string& name,
                                                  std::vector<float> weight, int64_t out,
                                                  int64_t in,
                                                  Precision precision = Precision::fp32);

LinearBackendFactory clear_backend_factory(Precision precision = Precision::fp32);

}  // namespace cipherlora
