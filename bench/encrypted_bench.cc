// The encrypted product against plaintext, shape by shape (tokens × in × out), in one run:
// the worker's time against a tuned fp32 SGEMM of the same shape, the client's encrypt and
// decrypt time, and the bytes each way against fp16 of the same values. The client's one-time
// set-up per weight (its combined secrets, column_client.h) is shown apart from the per-request
// time.
//
//   ./build/encrypted_bench            # the five issue shapes, best of 3
//   ./build/encrypted_bench --reps 1 --shapes 2048x576x576
//   ./build/encrypted_bench --x32      # x handed over as int32 (wider activations), not bytes
//
// As in the encrypted backend's 8-bit path, x is handed to the client as bytes and y comes back as
// int32 (the plans here have products of at most 29 bits); --x32 uses int32 x and int64 y.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>
#include <vector>

#include "common/aligned_allocator.h"
#include "he/column_client.h"
#include "he/column_plan.h"
#include "he/column_worker.h"
#include "he/wire_format.h"
#include "tensor/gemm.h"
#include "tensor/int8_gemm.h"
#include "tensor/threads.h"

using namespace cipherlora;

namespace {

template <class F>
double seconds(F f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class F>
double best_seconds(int reps, F f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) best = std::min(best, seconds(f));
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("encrypted product vs fp32 SGEMM");
  int reps = 3, threads = 0;
  std::vector<std::string> shapes = {"2048x576x576", "2048x576x1536", "2048x2048x2048",
                                     "2048x2048x8192", "2048x4096x4096"};
  app.add_option("--reps", reps, "repetitions, best kept");
  app.add_option("--threads", threads, "threads (default: all cores)");
  app.add_option("--shapes", shapes, "tokens x in x out");
  bool x32 = false;
  app.add_flag("--x32", x32, "hand x to the client as int32 (the wider-activation path)");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) set_num_threads(threads);
  std::printf("threads %d; fp32: %s; worker int8: %s\n", num_threads(), gemm_kernel_name().c_str(),
              int8_kernel_name(best_int8_kernel()).c_str());
  std::printf("%-16s %9s %9s %6s %9s %9s %6s %7s %7s %8s  %s\n", "T x in x out", "sgemm ms",
              "worker ms", "ratio", "encrypt", "decrypt", "client", "in/fp16", "out/fp16",
              "setup ms", "plan");
  std::mt19937_64 rng(1);
  for (const std::string& shape : shapes) {
    int64_t T = 0, K = 0, m = 0;
    char x1 = 0, x2 = 0;
    std::istringstream(shape) >> T >> x1 >> K >> x2 >> m;
    std::vector<int32_t> x(T * K);
    std::vector<int8_t> wq(m * K);
    for (auto& v : x) v = static_cast<int32_t>(rng() % 256) - 128;
    // As the encrypted backend's x bytes: on huge pages (the tile gather reads one line per token).
    const LargeVector<int8_t> x8(x.begin(), x.end());
    for (auto& w : wq) w = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    const ColumnPlan plan = plan_for_weight(wq.data(), m, K, /*forward=*/true, 128);

    std::vector<float> xf(x.begin(), x.end()), wf(wq.begin(), wq.end()), yf(T * m);
    const double t_sgemm = best_seconds(reps, [&] {
      sgemm(false, true, T, m, K, 1.0f, xf.data(), K, wf.data(), K, 0.0f, yf.data(), m);
    });

    ColumnWorker worker;
    const uint32_t id = worker.add_linear(wq, m, K);
    ColumnClient client;
    client.add_linear(wq, m, K);
    std::vector<uint8_t> request, response;
    // As the encrypted backend's: 64-byte aligned for whole-line streaming stores.
    LargeVector<int64_t> y64(x32 ? T * m : 0);
    LargeVector<int32_t> y32(x32 ? 0 : T * m);
    // Round 0 includes the client's one-time set-up for this weight; rounds 1..reps are timed.
    double t_enc = 1e30, t_worker = 1e30, t_dec = 1e30, t_first_dec = 0;
    for (int r = 0; r <= reps; ++r) {
      const double e = seconds([&] {
        if (x32)
          client.encrypt_to_bytes(x.data(), T, K, plan, id, Direction::kForward, request);
        else
          client.encrypt_to_bytes(x8.data(), T, K, plan, id, Direction::kForward, request);
      });
      const double w = seconds([&] { worker.handle(request, response); });
      const double d = seconds([&] {
        if (x32)
          client.decrypt(view_response(response), plan, T, m, y64.data());
        else
          client.decrypt(view_response(response), plan, T, m, y32.data());
      });
      if (r == 0) {
        t_first_dec = d;
        continue;
      }
      t_enc = std::min(t_enc, e);
      t_worker = std::min(t_worker, w);
      t_dec = std::min(t_dec, d);
    }
    // Spot-check exactness on a few entries (the test suite checks it fully).
    for (int probe = 0; probe < 16; ++probe) {
      const int64_t t = rng() % T, j = rng() % m;
      int64_t want = 0;
      for (int64_t k = 0; k < K; ++k) want += int64_t{x[t * K + k]} * wq[j * K + k];
      if ((x32 ? y64[t * m + j] : y32[t * m + j]) != want) {
        std::fprintf(stderr, "MISMATCH at %s t=%lld j=%lld\n", shape.c_str(), (long long)t,
                     (long long)j);
        return 1;
      }
    }
    const double in_ratio = request.size() / (2.0 * T * K);
    const double out_ratio = response.size() / (2.0 * T * m);
    std::printf("%-16s %9.2f %9.2f %5.2fx %9.2f %9.2f %5.0f%% %6.2fx %7.2fx %8.1f  %s\n",
                shape.c_str(), t_sgemm * 1e3, t_worker * 1e3, t_worker / t_sgemm, t_enc * 1e3,
                t_dec * 1e3, 100 * (t_enc + t_dec) / t_sgemm, in_ratio, out_ratio,
                (t_first_dec - t_dec) * 1e3, plan.describe().c_str());
  }
  return 0;
}
