// A frozen weight as the integer backends hold it: int8 per output channel plus the sums the
// zero-point corrections need. The `quantized` and `encrypted` backends build it the same way, so
// their integers agree.
//
//   QuantizedWeight w(weight.data(), /*out=*/960, /*in=*/576);
//   // w.wq [960, 576] int8, w.scale [960], w.row_sum [960], w.col_sum [576]
#pragma once

#include <cstdint>
#include <vector>

namespace cipherlora {

struct QuantizedWeight {
  // weight: [out, in] row-major fp32 (quantize_weight_per_channel in quantizer.h).
  QuantizedWeight(const float* weight, int64_t out, int64_t in);

  int64_t out = 0, in = 0;
  std::vector<int8_t> wq;        // [out, in]
  std::vector<float> scale;      // [out]
  std::vector<int32_t> row_sum;  // [out]  Σ_i wq[j, i]
  std::vector<int32_t> col_sum;  // [in]   Σ_j wq[j, i]
};

}  // namespace cipherlora
