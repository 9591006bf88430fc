// Forward + backward time of the `quantized` linear backend against the `clear` (fp32 SGEMM) one
// at SmolLM2-135M's linear shapes, with the integer GEMM alone for attribution.
//
//   build/quantized_bench [--tokens 1024] [--threads 2] [--bits 8] [--reps 20]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "linear/clear_backend.h"
#include "linear/quantized_backend.h"
#include "tensor/gemm.h"
#include "tensor/int8_gemm.h"
#include "tensor/threads.h"

namespace {

using namespace cipherlora;

std::vector<float> gaussian(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Milliseconds per call of f, after 0.2 s of warm-up (clocks, caches, oneDNN's JIT).
double time_ms(const std::function<void()>& f, int reps) {
  for (auto w = std::chrono::steady_clock::now();
       std::chrono::steady_clock::now() - w < std::chrono::milliseconds(200);)
    f();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
         reps;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"quantized vs clear linear backend, forward + backward"};
  int64_t T = 1024;
  int threads = 0, reps = 20, bits = 8;
  app.add_option("--tokens", T)->capture_default_str();
  app.add_option("--threads", threads);
  app.add_option("--bits", bits)->capture_default_str();
  app.add_option("--reps", reps)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) set_num_threads(threads);
  const Int8Kernel kernel = best_int8_kernel();
  std::printf("clear: %s\nquantized: %d-bit, %s\n%d threads, T=%lld\n", gemm_kernel_name().c_str(),
              bits, int8_kernel_name(kernel).c_str(), num_threads(), static_cast<long long>(T));
  std::printf("  %-10s %-10s %9s %9s %8s %9s %9s %7s\n", "in x out", "pass", "clear ms", "quant ms",
              "speedup", "int8 ms", "portable", "GOP/s");
  const int64_t shapes[][2] = {{576, 960}, {576, 3072}, {1536, 576}};
  for (const auto& s : shapes) {
    const int64_t in = s[0], out = s[1];
    const std::vector<float> w = gaussian(out * in, 1);
    const std::vector<float> x = gaussian(T * in, 2), dy = gaussian(T * out, 3);
    std::vector<float> y(T * out), dx(T * in);
    auto clear = make_clear_backend("clear", w, out, in);
    auto quant = make_quantized_backend("quant", w, out, in, bits, kernel);
    // The integer GEMM alone (one byte limb), with the portable kernel for comparison.
    std::vector<uint8_t> a8(T * std::max(in, out), 200);
    std::vector<int8_t> w8(out * in, -100);
    std::vector<int32_t> c32(T * std::max(in, out));
    double clear_total = 0, quant_total = 0;
    for (bool fwd : {true, false}) {
      const int64_t N = fwd ? out : in, K = fwd ? in : out;
      auto run = [&](LinearBackend& b) {
        fwd ? b.forward(x.data(), T, y.data()) : b.backward(dy.data(), T, dx.data());
      };
      const double clear_ms = time_ms([&] { run(*clear); }, reps);
      const double quant_ms = time_ms([&] { run(*quant); }, reps);
      auto gemm = [&](Int8Kernel k) {
        gemm_u8s8s32(k, T, N, K, a8.data(), K, w8.data(), fwd ? K : N, fwd, c32.data(), N);
      };
      const double int8_ms = time_ms([&] { gemm(kernel); }, reps);
      const double portable_ms = time_ms([&] { gemm(Int8Kernel::kPortable); }, 2);
      std::printf("  %4lldx%-5lld %-10s %9.2f %9.2f %7.2fx %9.2f %9.2f %7.0f\n",
                  static_cast<long long>(in), static_cast<long long>(out),
                  fwd ? "forward" : "backward", clear_ms, quant_ms, clear_ms / quant_ms, int8_ms,
                  portable_ms, 2.0 * T * N * K / int8_ms / 1e6);
      clear_total += clear_ms;
      quant_total += quant_ms;
    }
    std::printf("  %4lldx%-5lld %-10s %9.2f %9.2f %7.2fx\n", static_cast<long long>(in),
                static_cast<long long>(out), "fwd+bwd", clear_total, quant_total,
                clear_total / quant_total);
  }
}
