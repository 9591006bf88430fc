#include "linear/quantized_product.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "linear/quant_reference.h"
#include "linear/quantizer.h"
#include "tensor/threads.h"

namespace cipherlora {
namespace {

// Quantized activations as the backend holds them: values q in [0, L], their byte limbs, zp.
struct Tokens {
  int64_t T, K;
  int n_bits;
  std::vector<uint16_t> q;
  std::vector<uint8_t> lo, hi;
  std::vector<float> scale;
  std::vector<int32_t> zp;
  QuantizedTokens view() const {
    return {T, K, n_bits, lo.data(), n_bits > 8 ? hi.data() : nullptr, scale.data(), zp.data()};
  }
};

Tokens make_tokens(int64_t T, int64_t K, int n_bits, std::mt19937& rng, bool extreme) {
  const int32_t L = quant_levels(n_bits);
  Tokens a{T,
           K,
           n_bits,
           std::vector<uint16_t>(T * K),
           std::vector<uint8_t>(T * K),
           std::vector<uint8_t>(T * K),
           std::vector<float>(T),
           std::vector<int32_t>(T)};
  for (int64_t i = 0; i < T * K; ++i) {
    a.q[i] = static_cast<uint16_t>(extreme ? L : rng() % (L + 1));
    a.lo[i] = static_cast<uint8_t>(a.q[i] & 0xff);
    a.hi[i] = static_cast<uint8_t>(a.q[i] >> 8);
  }
  std::uniform_real_distribution<float> s(0.001f, 2.0f);
  for (int64_t t = 0; t < T; ++t) {
    a.zp[t] = extreme ? 0 : static_cast<int32_t>(rng() % (L + 1));
    a.scale[t] = s(rng);
  }
  return a;
}

struct Matrix {
  int64_t K, N;
  bool trans;
  std::vector<int8_t> b;  // [N, K] (trans) or [K, N]
  std::vector<int32_t> sum;
  std::vector<float> col_scale;
  int8_t at(int64_t k, int64_t n) const { return trans ? b[n * K + k] : b[k * N + n]; }
  Int8Operand view(bool with_scale) const {
    return {b.data(), K, N, trans, sum.data(), with_scale ? col_scale.data() : nullptr};
  }
};

Matrix make_matrix(int64_t K, int64_t N, bool trans, std::mt19937& rng, bool extreme) {
  Matrix m{K, N, trans, std::vector<int8_t>(K * N), std::vector<int32_t>(N), std::vector<float>(N)};
  for (auto& v : m.b) v = static_cast<int8_t>(extreme ? 127 : static_cast<int>(rng() % 255) - 127);
  if (extreme)  // alternate signs by output column
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 1; n < N; n += 2) (trans ? m.b[n * K + k] : m.b[k * N + n]) = -127;
  int8_column_sums(m.b.data(), K, N, trans, m.sum.data());
  std::uniform_real_distribution<float> s(0.0001f, 0.1f);
  for (auto& c : m.col_scale) c = s(rng);
  return m;
}

// acc[t,n] = Σ_k (q[t,k] − zp[t]) · op(B)[k,n], by definition, in int64.
std::vector<int64_t> naive_acc(const Tokens& a, const Matrix& m) {
  std::vector<int64_t> acc(a.T * m.N, 0);
  for (int64_t t = 0; t < a.T; ++t)
    for (int64_t k = 0; k < a.K; ++k) {
      const int64_t d = static_cast<int64_t>(a.q[t * a.K + k]) - a.zp[t];
      for (int64_t n = 0; n < m.N; ++n) acc[t * m.N + n] += d * m.at(k, n);
    }
  return acc;
}

std::vector<Int8Kernel> kernels() {
  std::vector<Int8Kernel> k = {Int8Kernel::kPortable};
  if (onednn_int8_exact()) k.push_back(Int8Kernel::kOneDnn);
  return k;
}

void check_case(int64_t T, int64_t K, int64_t N, int n_bits, bool trans, std::mt19937& rng,
                bool extreme) {
  const Tokens a = make_tokens(T, K, n_bits, rng, extreme);
  const Matrix m = make_matrix(K, N, trans, rng, extreme);
  // The column sums are part of what is tested: check them by definition too.
  for (int64_t n = 0; n < N; ++n) {
    int64_t s = 0;
    for (int64_t k = 0; k < K; ++k) s += m.at(k, n);
    ASSERT_EQ(m.sum[n], s);
  }
  const std::vector<int64_t> want = naive_acc(a, m);
  for (Int8Kernel kernel : kernels()) {
    const std::string what = int8_kernel_name(kernel) + " T=" + std::to_string(T) +
                             " K=" + std::to_string(K) + " N=" + std::to_string(N) +
                             " bits=" + std::to_string(n_bits) + " trans=" + std::to_string(trans);
    QuantizedProductBuffers buffers;
    std::vector<int64_t> acc(T * N, -1);
    quantized_product_exact(kernel, a.view(), m.view(true), buffers, acc.data());
    ASSERT_EQ(acc, want) << what;
    for (bool with_scale : {false, true}) {
      std::vector<float> y(T * N), y_want(T * N);
      quantized_product(kernel, a.view(), m.view(with_scale), buffers, y.data());
      for (int64_t t = 0; t < T; ++t)
        for (int64_t n = 0; n < N; ++n)
          y_want[t * N + n] =
              test::ref_dequantize(want[t * N + n], a.scale[t], with_scale ? m.col_scale[n] : 1.0f);
      ASSERT_EQ(test::count_bit_differences(y.data(), y_want.data(), y.size()), 0) << what;
    }
  }
}

TEST(QuantizedProduct, ExactAgainstNaiveInt64AtManyShapesAndBitWidths) {
  std::mt19937 rng(42);
  for (int n_bits : {2, 8, 12, 16}) {
    check_case(1, 1, 1, n_bits, true, rng, false);
    check_case(67, 3000, 300, n_bits, rng() % 2, rng, false);
    for (int i = 0; i < 8; ++i) {
      const int64_t T = 1 + rng() % 67, K = 1 + rng() % 3000, N = 1 + rng() % 300;
      check_case(T, K, N, n_bits, i % 2 == 0, rng, false);
    }
  }
}

TEST(QuantizedProduct, ExactAtExtremesAndBeyondOneInt32Chunk) {
  // q = L, zp = 0, weights ±127: the largest sums. K > kMaxExactK splits the sum into chunks.
  std::mt19937 rng(7);
  for (int n_bits : {8, 16}) {
    for (bool trans : {false, true}) {
      check_case(2, kMaxExactK, 3, n_bits, trans, rng, true);
      check_case(2, kMaxExactK + 1000, 3, n_bits, trans, rng, true);
      check_case(3, 2 * kMaxExactK + 5, 2, n_bits, trans, rng, false);
    }
  }
}

TEST(QuantizedProduct, IndependentOfThreadCountAndRepeatable) {
  std::mt19937 rng(9);
  const Tokens a = make_tokens(64, 1500, 12, rng, false);
  const Matrix m = make_matrix(1500, 250, true, rng, false);
  const int saved = num_threads();
  QuantizedProductBuffers buffers;
  std::vector<float> ref(64 * 250);
  set_num_threads(1);
  quantized_product(best_int8_kernel(), a.view(), m.view(true), buffers, ref.data());
  for (int threads : {2, 1, 2}) {
    set_num_threads(threads);
    std::vector<float> y(64 * 250);
    quantized_product(best_int8_kernel(), a.view(), m.view(true), buffers, y.data());
    EXPECT_EQ(test::count_bit_differences(y.data(), ref.data(), y.size()), 0) << threads;
  }
  set_num_threads(saved);
}

}  // namespace
}  // namespace cipherlora
