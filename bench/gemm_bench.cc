// GFLOP/s of the project's sgemm at the shapes one training step of SmolLM2-135M runs
// (B*T = 1024 tokens, LoRA r = 8), so that engine time can be attributed to GEMM shapes. With
// --bf16, also the bf16 product (tensor/bf16_gemm.h) that `--base-precision bf16` runs for the
// frozen linears and the LM head, on operands already rounded to bf16 (conversion not timed).
//
//   build/gemm_bench [--tokens 1024] [--rank 8] [--threads 2] [--bf16] [--square]
//
// --square times only the 2048³ product: the practical fp32 ceiling that bench/train_bench.py
// reports fractions of.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <vector>

#include "tensor/bf16_gemm.h"
#include "tensor/gemm.h"
#include "tensor/threads.h"

namespace {

struct Shape {
  const char* what;
  bool ta, tb;
  int64_t M, N, K;
};

double gflops(const Shape& s, int reps, bool bf16) {
  std::vector<float> a(s.M * s.K, 0.5f), b(s.K * s.N, 0.25f), c(s.M * s.N);
  std::vector<uint16_t> ab(a.size()), bb(b.size());
  cipherlora::round_to_bf16(a.data(), static_cast<int64_t>(a.size()), ab.data());
  cipherlora::round_to_bf16(b.data(), static_cast<int64_t>(b.size()), bb.data());
  const int64_t lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
  auto product = [&] {
    if (bf16)
      cipherlora::bf16_gemm(s.ta, s.tb, s.M, s.N, s.K, ab.data(), lda, bb.data(), ldb, c.data(),
                            s.N);
    else
      cipherlora::sgemm(s.ta, s.tb, s.M, s.N, s.K, 1.0f, a.data(), lda, b.data(), ldb, 0.0f,
                        c.data(), s.N);
  };
  // Warm up for 0.2 s (clocks, caches, oneDNN's JIT) before timing.
  for (auto w = std::chrono::steady_clock::now();
       std::chrono::steady_clock::now() - w < std::chrono::milliseconds(200);)
    product();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) product();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 2.0 * s.M * s.N * s.K * reps / secs / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sgemm throughput at the engine's shapes"};
  int64_t T = 1024, r = 8;
  int threads = 0, reps = 20;
  bool bf16 = false, square = false;
  app.add_option("--tokens", T)->capture_default_str();
  app.add_option("--rank", r)->capture_default_str();
  app.add_option("--threads", threads);
  app.add_option("--reps", reps)->capture_default_str();
  app.add_flag("--bf16", bf16, "also time the bf16 product");
  app.add_flag("--square", square, "time only the 2048^3 square product");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) cipherlora::set_num_threads(threads);
  const Shape shapes[] = {
      {"qkv forward      X·Wᵀ", false, true, T, 960, 576},
      {"gate|up forward  X·Wᵀ", false, true, T, 3072, 576},
      {"down forward     X·Wᵀ", false, true, T, 576, 1536},
      {"qkv backward     dY·W", false, false, T, 576, 960},
      {"gate|up backward dY·W", false, false, T, 576, 3072},
      {"down backward    dY·W", false, false, T, 1536, 576},
      {"head forward     X·Wᵀ", false, true, 256, 49152, 576},
      {"head backward    dY·W", false, false, 256, 576, 49152},
      {"lora u = X·Aᵀ", false, true, T, r, 576},
      {"lora y += u·Bᵀ", false, true, T, 576, r},
      {"lora dB = dYᵀ·u", true, false, 576, r, T},
      {"lora du = dY·B", false, false, T, r, 576},
      {"lora dA = duᵀ·X", true, false, r, 576, T},
      {"lora dX += du·A", false, false, T, 576, r},
      {"square 2048³", false, false, 2048, 2048, 2048},
  };
  std::printf("sgemm: %s, %d threads\n", cipherlora::gemm_kernel_name().c_str(),
              cipherlora::num_threads());
  if (bf16) std::printf("bf16:  %s\n", cipherlora::bf16_gemm_kernel_name().c_str());
  for (const Shape& s : shapes) {
    if (square && s.M != 2048) continue;
    std::printf("  %-24s M=%-5lld N=%-6lld K=%-6lld %7.1f GFLOP/s", s.what,
                static_cast<long long>(s.M), static_cast<long long>(s.N),
                static_cast<long long>(s.K), gflops(s, reps, false));
    if (bf16) std::printf("   bf16 %7.1f GFLOP/s", gflops(s, reps, true));
    std::printf("\n");
  }
}
