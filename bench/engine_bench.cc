// Times forward+backward of the engine (clear backend) on the real model: tokens/s over a [B, T]
// batch of random tokens with every position a target and LoRA on all seven projections.
// bench/engine_bench.py runs this beside PyTorch+peft on the same model, batch and threads.
//
//   build/engine_bench --model models/SmolLM2-135M-Instruct.Q4_1.gguf --batch 4 --seq-len 256
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <random>

#include "common/error.h"
#include "model/model_session.h"
#include "tensor/gemm.h"
#include "tensor/threads.h"

int main(int argc, char** argv) {
  using namespace cipherlora;
  CLI::App app{"engine forward+backward throughput"};
  std::string model;
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
  app.add_flag("--json", json, "one JSON line");
  CLI11_PARSE(app, argc, argv);
  try {
    if (threads > 0) set_num_threads(threads);
    ModelSession s = open_model_session(model, "");
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
    if (json) {
      std::printf(
          "{\"tokens_per_s\": %.2f, \"step_s\": %.4f, \"loss\": %.6f, \"threads\": %d, "
          "\"gemm\": \"%s\"}\n",
          tps, secs, loss * scale, num_threads(), gemm_kernel_name().c_str());
    } else {
      std::printf(
          "cipherlora forward+backward: %.1f tokens/s (%.3f s per %lldx%lld step, "
          "%d threads, GEMM: %s)\n",
          tps, secs, static_cast<long long>(B), static_cast<long long>(T), num_threads(),
          gemm_kernel_name().c_str());
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
