#include "he/column_plan.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/error.h"
#include "he/security.h"

namespace cipherlora {

std::string ColumnPlan::describe() const {
  return "N=" + std::to_string(n()) + " q=2^" + std::to_string(log_q) + " delta=2^" +
         std::to_string(log_delta) + " output " + std::to_string(log_q_b) + " bits";
}

ColumnPlan plan_columns(int64_t K, int64_t x_bound, double w_l1_max, double w_l2_max) {
  require(K >= 1 && x_bound >= 1 && w_l1_max >= 0 && w_l2_max >= 0,
          "encrypted product: invalid plan inputs");
  const double y_max = static_cast<double>(x_bound) * w_l1_max;
  // Even a zero weight leaves ε_B to absorb; a noise floor of 1 keeps Δ >= 2^7.
  const double noise = kTailSigmas * kStandardSigma * std::max(w_l2_max, 1.0);
  for (const auto& [log_n, max_q] :
       {std::pair{kNarrowLogN, kNarrowMaxLogQ}, std::pair{kWideLogN, kWideMaxLogQ}}) {
    ColumnPlan p;
    p.log_n = log_n;
    p.noise_bound = noise;
    p.log_delta = static_cast<int>(std::ceil(std::log2(4 * noise)));
    p.log_q = p.log_delta + static_cast<int>(std::ceil(std::log2(2 * y_max + 1)));
    p.log_q_b = p.log_q - (p.log_delta - 2);
    if (p.log_q > max_q || p.log_q > max_log_q_128(log_n)) continue;
    check_security(p.log_n, p.log_q, kStandardSigma);
    return p;
  }
  throw Error("encrypted product: values up to " + std::to_string(y_max) +
              " need more than 64 bits of modulus; lower --n-bits");
}

void check_weight_shape(const std::vector<int8_t>& wq, int64_t out, int64_t in, const char* who) {
  require(out > 0 && in > 0 && static_cast<int64_t>(wq.size()) == out * in,
          std::string(who) + ": weight of " + std::to_string(wq.size()) + " values is not " +
              std::to_string(out) + " x " + std::to_string(in));
}

ColumnPlan plan_for_weight(const int8_t* wq, int64_t out, int64_t in, bool forward,
                           int64_t x_bound) {
  require(out > 0 && in > 0, "encrypted product: empty weight");
  const WeightNorms norms = largest_column_norms(wq, out, in, forward);
  return plan_columns(forward ? in : out, x_bound, norms.l1, std::sqrt(norms.l2_squared));
}

WeightNorms largest_column_norms(const int8_t* wq, int64_t out, int64_t in, bool forward) {
  const int64_t m = forward ? out : in;
  std::vector<double> l1(m, 0), l2(m, 0);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      const double w = wq[o * in + i];
      l1[forward ? o : i] += std::abs(w);
      l2[forward ? o : i] += w * w;
    }
  return {*std::max_element(l1.begin(), l1.end()), *std::max_element(l2.begin(), l2.end())};
}

}  // namespace cipherlora
