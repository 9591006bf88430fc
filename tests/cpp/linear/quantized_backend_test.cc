#include "linear/quantized_backend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/error.h"
#include "linear/clear_backend.h"
#include "linear/quant_reference.h"
#include "tensor/threads.h"

namespace cipherlora {
namespace {

// The documented forward, evaluated independently: y [T, out] from x [T, in], w [out, in].
std::vector<float> reference_forward(const std::vector<float>& w, int64_t out, int64_t in,
                                     const std::vector<float>& x, int64_t T, int n_bits) {
  const test::RefWeights wq = test::ref_quantize_weights(w.data(), out, in);
  const test::RefTokens xq = test::ref_quantize_tokens(x.data(), T, in, n_bits);
  std::vector<float> y(T * out);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < out; ++j) {
      int64_t acc = 0;
      for (int64_t i = 0; i < in; ++i)
        acc += (static_cast<int64_t>(xq.q[t * in + i]) - xq.zp[t]) * wq.q[j * in + i];
      y[t * out + j] = test::ref_dequantize(acc, xq.scale[t], wq.scale[j]);
    }
  return y;
}

// The documented backward: dx [T, in] from dy [T, out].
std::vector<float> reference_backward(const std::vector<float>& w, int64_t out, int64_t in,
                                      const std::vector<float>& dy, int64_t T, int n_bits) {
  const test::RefWeights wq = test::ref_quantize_weights(w.data(), out, in);
  std::vector<float> g(T * out);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < out; ++j) g[t * out + j] = dy[t * out + j] * wq.scale[j];
  const test::RefTokens gq = test::ref_quantize_tokens(g.data(), T, out, n_bits);
  std::vector<float> dx(T * in);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < in; ++i) {
      int64_t acc = 0;
      for (int64_t j = 0; j < out; ++j)
        acc += (static_cast<int64_t>(gq.q[t * out + j]) - gq.zp[t]) * wq.q[j * in + i];
      dx[t * in + i] = test::ref_dequantize(acc, gq.scale[t], 1.0f);
    }
  return dx;
}

std::vector<Int8Kernel> kernels() {
  std::vector<Int8Kernel> k = {Int8Kernel::kPortable};
  if (onednn_int8_exact()) k.push_back(Int8Kernel::kOneDnn);
  return k;
}

TEST(QuantizedBackend, BitIdenticalToTheDocumentedFormula) {
  struct Shape {
    int64_t T, out, in;
  };
  for (const Shape s :
       {Shape{1, 1, 1}, Shape{5, 3, 700}, Shape{37, 129, 64}, Shape{67, 300, 211}}) {
    std::vector<float> w = test::gaussian_floats(s.out * s.in, 1, 0.05f);
    std::vector<float> x = test::gaussian_floats(s.T * s.in, 2);
    std::vector<float> dy = test::gaussian_floats(s.T * s.out, 3, 1e-3f);
    if (s.T > 3) {  // an all-zero token row, a one-signed one, and an all-zero weight row
      for (int64_t i = 0; i < s.in; ++i) x[1 * s.in + i] = 0.0f;
      for (int64_t i = 0; i < s.in; ++i) x[2 * s.in + i] = std::fabs(x[2 * s.in + i]);
      for (int64_t j = 0; j < s.out; ++j) dy[3 * s.out + j] = 0.0f;
      for (int64_t i = 0; i < s.in; ++i) w[1 * s.in + i] = 0.0f;
    }
    for (int n_bits : {2, 8, 12, 16}) {
      const std::vector<float> y_want = reference_forward(w, s.out, s.in, x, s.T, n_bits);
      const std::vector<float> dx_want = reference_backward(w, s.out, s.in, dy, s.T, n_bits);
      for (Int8Kernel kernel : kernels()) {
        auto lin = make_quantized_backend("test", w, s.out, s.in, n_bits, kernel);
        EXPECT_EQ(lin->in_features(), s.in);
        EXPECT_EQ(lin->out_features(), s.out);
        EXPECT_EQ(lin->clear_weight(), nullptr);
        std::vector<float> y(s.T * s.out), dx(s.T * s.in);
        lin->forward(x.data(), s.T, y.data());
        lin->backward(dy.data(), s.T, dx.data());
        const std::string what = int8_kernel_name(kernel) + " bits=" + std::to_string(n_bits) +
                                 " T=" + std::to_string(s.T) + " out=" + std::to_string(s.out) +
                                 " in=" + std::to_string(s.in);
        EXPECT_EQ(test::count_bit_differences(y.data(), y_want.data(), y.size()), 0) << what;
        EXPECT_EQ(test::count_bit_differences(dx.data(), dx_want.data(), dx.size()), 0) << what;
      }
    }
  }
}

TEST(QuantizedBackend, BitIdenticalAcrossThreadsRepeatsAndKernels) {
  const int64_t T = 130, out = 384, in = 576;
  const std::vector<float> w = test::gaussian_floats(out * in, 4, 0.05f);
  const std::vector<float> x = test::gaussian_floats(T * in, 5);
  const std::vector<float> dy = test::gaussian_floats(T * out, 6);
  for (int n_bits : {8, 16}) {
    std::vector<float> y0, dx0;
    const int saved = num_threads();
    for (Int8Kernel kernel : kernels()) {
      auto lin = make_quantized_backend("test", w, out, in, n_bits, kernel);
      for (int threads : {1, 2, 1, 2}) {
        set_num_threads(threads);
        std::vector<float> y(T * out), dx(T * in);
        lin->forward(x.data(), T, y.data());
        lin->backward(dy.data(), T, dx.data());
        if (y0.empty()) {
          y0 = y;
          dx0 = dx;
          continue;
        }
        EXPECT_EQ(test::count_bit_differences(y.data(), y0.data(), y.size()), 0) << threads;
        EXPECT_EQ(test::count_bit_differences(dx.data(), dx0.data(), dx.size()), 0) << threads;
      }
      // A smaller call after a larger one reuses the grown buffers and still matches.
      std::vector<float> y_small(7 * out);
      lin->forward(x.data(), 7, y_small.data());
      EXPECT_EQ(test::count_bit_differences(y_small.data(), y0.data(), y_small.size()), 0);
    }
    set_num_threads(saved);
  }
}

double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    err += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    norm += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(err / norm);
}

TEST(QuantizedBackend, CloseToTheClearBackendAndCloserWithMoreBits) {
  const int64_t T = 64, out = 256, in = 576;
  const std::vector<float> w = test::gaussian_floats(out * in, 7, 0.05f);
  const std::vector<float> x = test::gaussian_floats(T * in, 8);
  const std::vector<float> dy = test::gaussian_floats(T * out, 9);
  auto clear = make_clear_backend("clear", w, out, in);
  std::vector<float> y_ref(T * out), dx_ref(T * in);
  clear->forward(x.data(), T, y_ref.data());
  clear->backward(dy.data(), T, dx_ref.data());
  double prev_fwd = 1e9, prev_bwd = 1e9;
  for (int n_bits : {2, 4, 8, 16}) {
    auto lin = make_quantized_backend("q", w, out, in, n_bits);
    std::vector<float> y(T * out), dx(T * in);
    lin->forward(x.data(), T, y.data());
    lin->backward(dy.data(), T, dx.data());
    const double fwd = relative_error(y, y_ref), bwd = relative_error(dx, dx_ref);
    if (n_bits >= 8) {
      EXPECT_LT(fwd, 0.02) << n_bits;
      EXPECT_LT(bwd, 0.02) << n_bits;
    }
    EXPECT_LT(fwd, prev_fwd) << n_bits;
    EXPECT_LT(bwd, prev_bwd) << n_bits;
    prev_fwd = fwd;
    prev_bwd = bwd;
  }
}

TEST(QuantizedBackend, RejectsBadArguments) {
  const std::vector<float> w(6, 0.5f);
  for (int bad : {-1, 0, 1, 17, 64}) {
    EXPECT_THROW(make_quantized_backend("l", w, 2, 3, bad), Error) << bad;
    EXPECT_THROW(quantized_backend_factory(bad), Error) << bad;
  }
  try {
    make_quantized_backend("layers.0.o", w, 2, 3, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("n_bits"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("layers.0.o"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_quantized_backend("l", w, 3, 3, 8), Error);  // 6 values for 3 x 3
  std::vector<float> bad_w = w;
  bad_w[4] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(make_quantized_backend("l", bad_w, 2, 3, 8), Error);

  auto lin = quantized_backend_factory(8)("layers.1.down", w, 2, 3);
  std::vector<float> x = {1, 2, 3, 4, std::numeric_limits<float>::infinity(), 6}, y(4);
  try {
    lin->forward(x.data(), 2, y.data());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layers.1.down forward"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("row 1"), std::string::npos) << e.what();
  }
  lin->forward(x.data(), 0, y.data());  // no tokens: nothing to do
}

TEST(QuantizedBackend, HandWorkedForwardAndBackward) {
  // Values chosen so that every scale is exactly 1: w rows have max |w| = 127, token ranges 255.
  const std::vector<float> w = {63.5f, 127.0f, -95.25f, 127.0f, 0.0f, 0.0f};  // [3, 2]
  // Wq = [[64, 127], [-95, 127], [0, 0]] (63.5 -> 64 by half-even; -95.25 -> -95).
  for (Int8Kernel kernel : kernels()) {
    auto lin = make_quantized_backend("l", w, 3, 2, 8, kernel);
    // Token 0: lo=0 hi=255, zp 0, q = [255, 0]. Token 1: lo=-51 hi=204, zp 51, q - zp = [-51, 204].
    const std::vector<float> x = {255.0f, 0.0f, -51.0f, 204.0f};
    std::vector<float> y(6);
    lin->forward(x.data(), 2, y.data());
    EXPECT_EQ(y, (std::vector<float>{255 * 64, 255 * -95, 0,  //
                                     -51 * 64 + 204 * 127, -51 * -95 + 204 * 127, 0}));
    // G = dy (w_scale = 1): lo=-127.5 hi=127.5, scale 1, zp = rhe(127.5) = 128;
    // q = [rhe(127.5) + 128 -> clamp 255, 128, rhe(-127.5) + 128 = 0], q - zp = [127, 0, -128].
    const std::vector<float> dy = {127.5f, 0.0f, -127.5f};
    std::vector<float> dx(2);
    lin->backward(dy.data(), 1, dx.data());
    EXPECT_EQ(dx, (std::vector<float>{127 * 64, 127 * 127}));
  }
}

}  // namespace
}  // namespace cipherlora
