#include "tensor/embedding.h"

#include <algorithm>
#include <string>

#include "common/error.h"

namespace cipherlora {

void embedding_forward(const float* table, const int32_t* ids, float* out, int64_t N, int64_t D,
                       int64_t V) {
  for (int64_t i = 0; i < N; ++i) {
    require(ids[i] >= 0 && ids[i] < V,
            "embedding: token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                " is outside the vocabulary [0, " + std::to_string(V) + ")");
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const float* src = table + static_cast<int64_t>(ids[i]) * D;
    std::copy(src, src + D, out + i * D);
  }
}

}  // namespace cipherlora
