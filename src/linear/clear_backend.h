// The `clear` linear backend: the frozen weight kept as fp32 and multiplied with one GEMM per call.
// It is the reference every other backend is compared against, and the fastest.
//
//   LinearBackendFactory f = clear_backend_factory();
//   auto lin = f("layers.0.o", std::move(w), 576, 576);
#pragma once

#include "linear/linear_backend.h"

namespace cipherlora {

// weight: [out, in] row-major fp32.
std::unique_ptr<LinearBackend> make_clear_backend(const std::string& name,
                                                  std::vector<float> weight, int64_t out,
                                                  int64_t in);

LinearBackendFactory clear_backend_factory();

}  // namespace cipherlora
