#include "linear/quantized_weight.h"

#include "linear/quantized_product.h"
#include "linear/quantizer.h"

namespace cipherlora {

QuantizedWeight::QuantizedWeight(const float* weight, int64_t out_, int64_t in_)
    : out(out_), in(in_), wq(out_ * in_), scale(out_), row_sum(out_), col_sum(in_) {
  quantize_weight_per_channel(weight, out, in, wq.data(), scale.data());
  int8_column_sums(wq.data(), in, out, /*trans=*/true, row_sum.data());   // over i
  int8_column_sums(wq.data(), out, in, /*trans=*/false, col_sum.data());  // over j
}

}  // namespace cipherlora
