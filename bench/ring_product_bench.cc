// Microseconds per exact ring product a·s mod (x^N + 1, 2^log_q) (he/ring_product.h) of a log_q-bit
// mask by a ternary secret, for each kernel: one product at a time on one thread, from the secret
// as values or from its transformed form (as the client caches it), and transformed products over
// a batch on --threads threads (time per product = wall time / batch). Also one forward NTT, for
// scale. Each figure is the best of --runs timed runs (the machine is shared, so the minimum is the
// signal).
//
//   build/ring_product_bench [--threads 2] [--runs 100] [--batch 64]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <span>
#include <vector>

#include "he/ntt.h"
#include "he/ring_product.h"
#include "tensor/threads.h"

namespace {

using cipherlora::NttKernel;

// Best over `runs` of the time per call of fn, each run repeating fn for at least 2 ms: short
// runs, so that some of them fit between the other processes' time slices.
double best_us(int runs, int64_t items_per_call, const std::function<void()>& fn) {
  double best = 1e30;
  for (int r = 0; r < runs; ++r) {
    int64_t calls = 0;
    const auto t0 = std::chrono::steady_clock::now();
    std::chrono::duration<double> elapsed{};
    do {
      fn();
      ++calls;
      elapsed = std::chrono::steady_clock::now() - t0;
    } while (elapsed.count() < 0.002);
    best = std::min(best, elapsed.count() * 1e6 / static_cast<double>(calls * items_per_call));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"exact ternary ring product a·s mod (x^N + 1, 2^log_q)"};
  int threads = 2, runs = 100;
  int64_t batch = 64;
  app.add_option("--threads", threads, "threads for multiply_many")->capture_default_str();
  app.add_option("--runs", runs, "timed runs per figure (best is reported)")->capture_default_str();
  app.add_option("--batch", batch, "polynomials per multiply_many call")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<NttKernel> kernels = {NttKernel::kPortable};
  if (cipherlora::ntt_ifma_available()) kernels.push_back(NttKernel::kIfma);
  std::printf("best kernel on this CPU: %s\n",
              cipherlora::ntt_kernel_name(NttKernel::kBest).c_str());
  std::mt19937_64 rng(1);
  for (int64_t n : {2048, 4096}) {
    int log_n = 0;
    while ((int64_t{1} << log_n) < n) ++log_n;
    std::vector<int8_t> s(n);
    for (auto& v : s) v = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
    std::vector<uint64_t> a(batch * n), out(batch * n);
    for (auto& v : a) v = rng();
    for (NttKernel kernel : kernels) {
      const std::string name = cipherlora::ntt_kernel_name(kernel);
      const cipherlora::Ntt ntt(
          cipherlora::find_ntt_primes(cipherlora::ntt_max_prime_bits(kernel), log_n, 1)[0], log_n,
          kernel);
      std::vector<uint64_t> x(n);
      for (auto& v : x) v = rng() % ntt.modulus();
      std::printf("N=%-5lld %-32s forward NTT %8.2f us\n", static_cast<long long>(n), name.c_str(),
                  best_us(runs, 1, [&] { ntt.forward(x.data()); }));
      // What the client runs: a log_q-bit mask times each column's ternary secret, with the
      // secret given as log_q-bit values (multiply) or in its cached transformed form.
      std::vector<uint64_t> tr(batch * cipherlora::RingMultiplier::transformed_words(n));
      for (int64_t i = 0; i < batch; ++i)
        cipherlora::RingMultiplier::transform_operand(
            s, kernel, tr.data() + i * cipherlora::RingMultiplier::transformed_words(n));
      for (int log_q : {38, 47, 54, 64}) {
        const uint64_t mask = log_q == 64 ? ~uint64_t{0} : (uint64_t{1} << log_q) - 1;
        for (auto& v : a) v &= mask;
        const cipherlora::RingMultiplier mul(std::span(a.data(), n), log_q, 0, kernel);
        std::vector<uint64_t> sv(batch * n);
        for (int64_t i = 0; i < batch * n; ++i)
          sv[i] = static_cast<uint64_t>(int64_t{s[i % n]}) & mask;
        int64_t next = 0;
        const double single = best_us(runs, 1, [&] {
          mul.multiply(sv.data() + next * n, out.data() + next * n);
          next = (next + 1) % batch;
        });
        const double transformed = best_us(runs, 1, [&] {
          mul.multiply_transformed(tr.data() + next * 2 * n, out.data() + next * n);
          next = (next + 1) % batch;
        });
        cipherlora::set_num_threads(threads);
        const double many = best_us(runs, batch, [&] {
#pragma omp parallel for schedule(static)
          for (int64_t i = 0; i < batch; ++i)
            mul.multiply_transformed(tr.data() + i * 2 * n, out.data() + i * n);
        });
        std::printf(
            "N=%-5lld %-32s log_q=%-2d primes=%d  1 thread %8.2f us/product, transformed %8.2f   "
            "%d threads transformed %8.2f us/product\n",
            static_cast<long long>(n), name.c_str(), log_q, mul.prime_count(), single, transformed,
            threads, many);
      }
    }
  }
}
