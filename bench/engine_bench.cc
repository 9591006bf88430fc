// Times forward+backward of the engine (clear backend) on the real model: tokens/s over a [B, T]
// batch of random tokens with every position a target and LoRA on all seven projections.
// bench/engine_bench.py runs this beside PyTorch+peft on the same model, batch and threads.
//
//   build/engine_bench --model models/SmolLM2-135M-Instruct.Q4_1.gguf --batch 4 --seq-len 256
//   build/engine_bench --base-precision bf16     # frozen linears and LM head in bf16
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "common/error.h"
#include "linear/clear_backend.h"
#include "model/lora.h"
#include "model/model_session.h"
#include "tensor/gemm.h"
#include "tensor/threads.h"

namespace {

using namespace cipherlora;

// Floating-point operations of one forward+backward step (multiply-adds count 2): the frozen
// linears forward and input-gradient, the LM head on every target row, causal attention (2
// products forward, 5 backward, over the lower triangle) and the LoRA branches (6 products).
double step_flops(const LlamaConfig& c, int64_t B, int64_t T, int64_t targets, int64_t rank) {
  const double N = static_cast<double>(B * T), D = c.dim, Q = c.q_dim(), KV = c.kv_dim(),
               F = c.ffn_dim, L = c.n_layers;
  const double linear = 2.0 * N * ((Q + 2 * KV) * D + Q * D + 2 * F * D + D * F);
  const double head = 2.0 * targets * c.vocab_size * D;
  const double attn = 7.0 * B * c.n_heads * (T * (T + 1) / 2.0) * c.head_dim * 2.0;
  double lora = 0.0;
  for (int p = 0; p < kNumProj; ++p) {
    auto [out, in] = proj_shape(c, static_cast<Proj>(p));
    lora += 6.0 * N * rank * static_cast<double>(in + out);
  }
  return L * (2.0 * linear + attn + lora) + 2.0 * head;
}

// The same run's SGEMM rate on a large square product: the practical fp32 ceiling.
double sgemm_gflops() {
  const int64_t n = 2048;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
  sgemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  const int reps = 5;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i)
    sgemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 2.0 * n * n * n * reps / secs / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cipherlora;
  CLI::App app{"engine forward+backward throughput"};
  std::string model, precision = "fp32";
  int64_t B = 4, T = 256, steps = 5, warmup = 1, rank = 8;
  int threads = 0;
  bool json = false;
  app.add_option("--model", model, "default: the installed SmolLM2");
  app.add_option("--batch", B)->capture_default_str();
  app.add_option("--seq-len", T)->capture_default_str();
  app.add_option("--steps", steps)->capture_default_str();
  app.add_option("--warmup", warmup)->capture_default_str();
  app.add_option("--lora-r", rank)->capture_default_str();
  app.add_option("--threads", threads, "default: all cores");
  app.add_option("--base-precision", precision, "fp32 or bf16 frozen base (clear backend)")
      ->capture_default_str();
  app.add_flag("--json", json, "one JSON line");
  CLI11_PARSE(app, argc, argv);
  try {
    if (threads > 0) set_num_threads(threads);
    const Precision p = parse_precision(precision);
    ModelSession s = open_model_session(model, "", true, clear_backend_factory(p));
    s.model->set_head_precision(p);
    LoraConfig lc;
    lc.r = rank;
    lc.alpha = 2.0f * static_cast<float>(rank);
    lc.targets = parse_lora_targets("all");
    LoraAdapter lora(s.config, lc);
    lora.init_peft_default(0);
    s.model->set_adapter(&lora);

    TokenBatch batch;
    batch.B = B, batch.T = T;
    std::mt19937 rng(0);
    std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(s.config.vocab_size - 1));
    for (int64_t i = 0; i < B * T; ++i) batch.tokens.push_back(tok(rng));
    batch.targets.assign(B * T, kIgnoreTarget);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t + 1 < T; ++t) batch.targets[b * T + t] = batch.tokens[b * T + t + 1];
    const float scale = 1.0f / static_cast<float>(batch.n_targets());

    double loss = 0.0;
    for (int64_t i = 0; i < warmup; ++i) loss = s.model->forward_backward(batch, scale);
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < steps; ++i) loss = s.model->forward_backward(batch, scale);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
    const double tps = static_cast<double>(B * T) / secs;
    const double gflops = step_flops(s.config, B, T, batch.n_targets(), rank) / secs / 1e9;
    const double ceiling = sgemm_gflops();
    if (json) {
      std::printf(
          "{\"tokens_per_s\": %.2f, \"step_s\": %.4f, \"loss\": %.6f, \"threads\": %d, "
          "\"gflops\": %.1f, \"sgemm_gflops\": %.1f, \"gemm\": \"%s\"}\n",
          tps, secs, loss * scale, num_threads(), gflops, ceiling, gemm_kernel_name().c_str());
    } else {
      std::printf(
          "cipherlora forward+backward: %.1f tokens/s (%.3f s per %lldx%lld step, %d threads)\n"
          "  %.1f GFLOP/s = %.0f%% of this run's 2048^3 SGEMM rate (%.1f GFLOP/s, %s)\n",
          tps, secs, static_cast<long long>(B), static_cast<long long>(T), num_threads(), gflops,
          100.0 * gflops / ceiling, ceiling, gemm_kernel_name().c_str());
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
