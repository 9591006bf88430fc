// Time of the encrypted worker's linear layer, mod2k products of ciphertext bodies and masks
// (count = 2) by resident int8 weights, against one fp32 SGEMM of the same N × K × m shape, and
// one u8 × s8 GEMM of that shape (count·L of those is the method's arithmetic floor).
// Timings are the best of --reps runs, interleaved so that load from other processes on a shared
// machine hits all candidates alike.
//
//   build/mod2k_gemm_bench [--threads 2] [--reps 5] [--log-q 40,47,54] [--portable]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "he/mod2k_gemm.h"
#include "tensor/gemm.h"
#include "tensor/int8_gemm.h"
#include "tensor/threads.h"

namespace {

using namespace cipherlora;

double ms(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mod 2^log_q int8 products (count = 2) vs fp32 sgemm"};
  int threads = 0, reps = 5;
  bool portable = false;
  std::vector<int> log_qs = {40, 47, 54};
  std::vector<std::string> only;
  app.add_option("--threads", threads, "default: all cores");
  app.add_option("--reps", reps, "best of this many runs")->capture_default_str();
  app.add_option("--log-q", log_qs)->delimiter(',')->capture_default_str();
  app.add_option("--shape", only, "only these NxKxm shapes, e.g. 2048x576x576");
  app.add_flag("--portable", portable, "the portable int8 kernel instead of the best one");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) set_num_threads(threads);
  const Int8Kernel kernel = portable ? Int8Kernel::kPortable : best_int8_kernel();
  std::printf("sgemm: %s\nint8:  %s\n%d threads, best of %d, count = 2 (bodies and masks)\n",
              gemm_kernel_name().c_str(), int8_kernel_name(kernel).c_str(), num_threads(), reps);
  std::printf("%-16s %9s %9s %6s %9s %9s %7s %9s\n", "N x K x m", "sgemm ms", "int8 ms", "log_q",
              "mod2k ms", "ratio", "floor", "GOP/s");
  const int64_t shapes[][3] = {{2048, 576, 576},
                               {2048, 576, 1536},
                               {2048, 2048, 2048},
                               {2048, 2048, 8192},
                               {2048, 4096, 4096}};
  for (const auto& s : shapes) {
    const int64_t N = s[0], K = s[1], m = s[2];
    const std::string name = std::to_string(N) + "x" + std::to_string(K) + "x" + std::to_string(m);
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    std::mt19937_64 rng(1);
    // fp32: Y[N, m] = X[N, K] · W[m, K]ᵀ, the same product in the clear.
    std::vector<float> xf(N * K), wf(m * K), yf(N * m);
    for (auto& v : xf) v = static_cast<float>(rng() % 1000) / 1000.0f;
    for (auto& v : wf) v = static_cast<float>(rng() % 1000) / 1000.0f;
    std::vector<int8_t> W(m * K);
    for (auto& w : W) w = static_cast<int8_t>(rng());
    std::vector<uint8_t> a8(N * K);
    for (auto& v : a8) v = static_cast<uint8_t>(rng());
    std::vector<int32_t> c32(N * m);
    std::vector<uint64_t> in0(K * N), in1(K * N), out0(m * N), out1(m * N);
    for (auto& v : in0) v = rng();
    for (auto& v : in1) v = rng();
    const uint64_t* in[2] = {in0.data(), in1.data()};
    uint64_t* out[2] = {out0.data(), out1.data()};
    const Mod2kWeights weights(kernel, W.data(), K, m, /*trans_w=*/true);

    auto run_sgemm = [&] {
      sgemm(false, true, N, m, K, 1.0f, xf.data(), K, wf.data(), K, 0.0f, yf.data(), m);
    };
    auto run_int8 = [&] {
      gemm_u8s8s32(kernel, N, m, K, a8.data(), K, W.data(), K, true, c32.data(), m);
    };
    run_sgemm();
    run_int8();
    std::vector<double> best(log_qs.size(), 1e30);
    double best_sgemm = 1e30, best_int8 = 1e30;
    for (size_t q = 0; q < log_qs.size(); ++q)
      weights.products(2, in, N, log_qs[q], out);  // warm-up
    for (int r = 0; r < reps; ++r) {
      best_sgemm = std::min(best_sgemm, ms(run_sgemm));
      best_int8 = std::min(best_int8, ms(run_int8));
      for (size_t q = 0; q < log_qs.size(); ++q)
        best[q] = std::min(best[q], ms([&] { weights.products(2, in, N, log_qs[q], out); }));
    }
    for (size_t q = 0; q < log_qs.size(); ++q) {
      const int L = (log_qs[q] + 7) / 8;
      std::printf("%-16s %9.2f %9.2f %6d %9.2f %8.2fx %6.2fx %9.1f\n", name.c_str(), best_sgemm,
                  best_int8, log_qs[q], best[q], best[q] / best_sgemm,
                  2 * L * best_int8 / best_sgemm, 2.0 * 2 * L * N * K * m / best[q] / 1e6);
    }
  }
}
