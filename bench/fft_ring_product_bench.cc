// Microseconds per client ring product (he/fft_ring_product.h) and per transform
// (he/negacyclic_fft.h), for each FFT kernel, on one thread: the exact product of a mask by a
// ternary secret from its cached transform (encryption), and the product of a mask by a combined
// secret within a tolerance (decryption), at the parameters of the 2048×4096×4096 benchmark
// shape. Each figure is the best of --runs timed runs (the machine is shared, so the minimum is
// the signal).
//
//   build/fft_ring_product_bench [--runs 50]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <span>
#include <vector>

#include "he/fft_ring_product.h"
#include "he/negacyclic_fft.h"

namespace {

using cipherlora::FftKernel;

// Best over `runs` of the time per call of fn, each run repeating fn for at least 2 ms.
double best_us(int runs, const std::function<void()>& fn) {
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
    best = std::min(best, elapsed.count() * 1e6 / static_cast<double>(calls));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"client ring products by negacyclic FFT"};
  int runs = 50;
  app.add_option("--runs", runs, "timed runs per figure (best is reported)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::mt19937_64 rng(1);
  for (int log_n : {11, 12}) {
    const int64_t n = int64_t{1} << log_n;
    std::vector<FftKernel> kernels = {FftKernel::kPortable};
    if (cipherlora::fft_avx512_available()) kernels.push_back(FftKernel::kAvx512);
    for (FftKernel kernel : kernels) {
      const cipherlora::NegacyclicFft fft(log_n, kernel);
      std::vector<double> re(n / 2, 1.0), im(n / 2, 2.0);
      std::printf("N=%-5lld %-8s forward %6.2f us  inverse %6.2f us\n", static_cast<long long>(n),
                  kernel == FftKernel::kAvx512 ? "AVX-512" : "portable",
                  best_us(runs, [&] { fft.forward(re.data(), im.data()); }),
                  best_us(runs, [&] { fft.inverse(re.data(), im.data()); }));
    }
    // The products run on the best kernel (NegacyclicFft::shared).
    const int log_q = 47;
    std::vector<uint64_t> mask(n), out(n);
    for (auto& v : mask) v = rng() & ((uint64_t{1} << log_q) - 1);
    std::vector<int8_t> s(n);
    std::vector<int32_t> s2(n);
    for (auto& v : s) v = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
    for (auto& v : s2) v = static_cast<int32_t>(rng() % 16001) - 8000;
    std::vector<double> tr(cipherlora::FftRingMultiplier::transformed_words(n));
    cipherlora::FftRingMultiplier::transform_operand(std::span<const int8_t>(s), tr.data());
    const cipherlora::FftRingMultiplier enc(mask, log_q, std::sqrt(static_cast<double>(n)));
    const double l2 = std::exp2(18.4);  // the combined secrets' bound at K = 4096
    const cipherlora::FftRingMultiplier dec(mask, log_q, l2, std::exp2(16));
    std::printf(
        "N=%-5lld log_q=%d  encryption (exact, %d limbs, cached transform) %6.2f us   "
        "decryption (within 2^16, %d limbs) %6.2f us\n",
        static_cast<long long>(n), log_q, enc.limbs(),
        best_us(runs, [&] { enc.multiply_transformed(tr.data(), out.data()); }), dec.limbs(),
        best_us(runs, [&] { dec.multiply(s2, out.data()); }));
  }
  return 0;
}
