#include "he/negacyclic_fft.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <string>

#include "common/cpu_features.h"
#include "common/error.h"
#include "he/negacyclic_fft_kernels.h"

namespace cipherlora {
namespace {

// Cooley–Tukey: (x, y) -> (x + r·y, x − r·y), over groups of 2h values, r per group.
void portable_forward(const NegacyclicFft::Tables& t, double* re, double* im) {
  for (int64_t m = 1, h = t.n / 2; h >= 1; m *= 2, h /= 2)
    for (int64_t i = 0; i < m; ++i) {
      const double wr = t.re[m + i], wi = t.im[m + i];
      for (int64_t j = 2 * i * h; j < 2 * i * h + h; ++j) {
        const double yr = re[j + h], yi = im[j + h];
        const double tr = yr * wr - yi * wi, ti = yr * wi + yi * wr;
        re[j + h] = re[j] - tr;
        im[j + h] = im[j] - ti;
        re[j] += tr;
        im[j] += ti;
      }
    }
}

// Gentleman–Sande: (x, y) -> (x + y, (x − y)·conj(r)), then 1/n.
void portable_inverse(const NegacyclicFft::Tables& t, double* re, double* im) {
  for (int64_t m = t.n / 2, h = 1; m >= 1; m /= 2, h *= 2)
    for (int64_t i = 0; i < m; ++i) {
      const double wr = t.re[m + i], wi = t.im[m + i];
      for (int64_t j = 2 * i * h; j < 2 * i * h + h; ++j) {
        const double dr = re[j] - re[j + h], di = im[j] - im[j + h];
        re[j] += re[j + h];
        im[j] += im[j + h];
        re[j + h] = dr * wr + di * wi;
        im[j + h] = di * wr - dr * wi;
      }
    }
  const double scale = 1.0 / static_cast<double>(t.n);  // a power of two: exact
  for (int64_t j = 0; j < t.n; ++j) {
    re[j] *= scale;
    im[j] *= scale;
  }
}

}  // namespace

bool fft_avx512_available() {
  return cpu_features().avx512f && cpu_features().avx512dq;
}

NegacyclicFft::NegacyclicFft(int log_n, FftKernel kernel) : tables_(std::make_unique<Tables>()) {
  require(log_n >= 10 && log_n <= 15, "FFT: log_n must be in 10..15, got " + std::to_string(log_n));
  require(kernel != FftKernel::kAvx512 || fft_avx512_available(),
          "FFT: the AVX-512 kernel needs AVX-512 F/DQ, which this CPU lacks");
  if (kernel == FftKernel::kBest)
    kernel = fft_avx512_available() ? FftKernel::kAvx512 : FftKernel::kPortable;
  Tables& t = *tables_;
  t.log_n = log_n;
  t.n = int64_t{1} << (log_n - 1);
  t.kernel = kernel;
  // The factor of node k is x^2h − c_k with c_1 = i. Angles as multiples of π/2^D, exact
  // integers: c_k = e^(iπ·a_k/2^D), r_k = √c_k = e^(iπ·a_k/2^(D+1)); children c_2k = r_k and
  // c_2k+1 = −r_k. Angles are kept mod 2π (2^(D+2) in units of π/2^(D+1)).
  const int D = log_n + 1;
  std::vector<int64_t> angle(2 * t.n);  // a_k in units of π/2^D, mod 2^(D+1)
  angle[1] = int64_t{1} << (D - 1);     // π/2
  t.re.assign(t.n, 0.0);
  t.im.assign(t.n, 0.0);
  const int64_t full = int64_t{1} << (D + 1);  // 2π in units of π/2^D
  for (int64_t k = 1; k < t.n; ++k) {
    // a_k is a multiple of 2^(D-1-depth) (depth <= log_n − 2), so a_k / 2 below is exact.
    const long double theta =
        std::acos(-1.0L) * static_cast<long double>(angle[k]) / std::ldexp(1.0L, D + 1);
    t.re[k] = static_cast<double>(std::cos(theta));
    t.im[k] = static_cast<double>(std::sin(theta));
    const int64_t half = angle[k] / 2;  // √c_k in units of π/2^D
    angle[2 * k] = half;
    angle[2 * k + 1] = (half + full / 2) % full;
  }
  if (kernel == FftKernel::kAvx512) {
    // Lane order of the stages at distance 2 and 1 (negacyclic_fft_avx512.cc): entry 16c + 8g + r
    // is group 16c + 2r + g of the distance-2 stage; entry 32c + 8g + r is group 32c + 4r + g of
    // the distance-1 stage.
    const int64_t chunks = t.n / 64;
    t.re2.resize(16 * chunks);
    t.im2.resize(16 * chunks);
    t.re1.resize(32 * chunks);
    t.im1.resize(32 * chunks);
    for (int64_t c = 0; c < chunks; ++c)
      for (int r = 0; r < 8; ++r) {
        for (int g = 0; g < 2; ++g) {
          const int64_t k = t.n / 4 + 16 * c + 2 * r + g;
          t.re2[16 * c + 8 * g + r] = t.re[k];
          t.im2[16 * c + 8 * g + r] = t.im[k];
        }
        for (int g = 0; g < 4; ++g) {
          const int64_t k = t.n / 2 + 32 * c + 4 * r + g;
          t.re1[32 * c + 8 * g + r] = t.re[k];
          t.im1[32 * c + 8 * g + r] = t.im[k];
        }
      }
  }
}

NegacyclicFft::~NegacyclicFft() = default;
NegacyclicFft::NegacyclicFft(NegacyclicFft&&) noexcept = default;
NegacyclicFft& NegacyclicFft::operator=(NegacyclicFft&&) noexcept = default;

const NegacyclicFft& NegacyclicFft::shared(int log_n) {
  static std::mutex mutex;
  static std::map<int, std::unique_ptr<NegacyclicFft>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<NegacyclicFft>& fft = cache[log_n];
  if (!fft) fft = std::make_unique<NegacyclicFft>(log_n);
  return *fft;
}

int64_t NegacyclicFft::degree() const {
  return 2 * tables_->n;
}
int64_t NegacyclicFft::size() const {
  return tables_->n;
}
FftKernel NegacyclicFft::kernel() const {
  return tables_->kernel;
}

void NegacyclicFft::forward(double* re, double* im) const {
  if (tables_->kernel == FftKernel::kAvx512)
    fft_avx512_forward(*tables_, re, im);
  else
    portable_forward(*tables_, re, im);
}

template <class T, class Avx512Forward>
void NegacyclicFft::forward_signed(std::span<const T> v, double* out, Avx512Forward avx512) const {
  const int64_t n = tables_->n;
  require(static_cast<int64_t>(v.size()) == 2 * n, "FFT: operand of the wrong degree");
  if (tables_->kernel == FftKernel::kAvx512) return avx512(*tables_, v.data(), out, out + n);
  std::copy(v.begin(), v.end(), out);
  portable_forward(*tables_, out, out + n);
}

void NegacyclicFft::forward_from(std::span<const int32_t> v, double* out) const {
  forward_signed(v, out, fft_avx512_forward_int32);
}

void NegacyclicFft::forward_from(std::span<const int16_t> v, double* out) const {
  forward_signed(v, out, fft_avx512_forward_int16);
}

void NegacyclicFft::forward_from(std::span<const int8_t> v, double* out) const {
  forward_signed(v, out, fft_avx512_forward_int8);
}

void NegacyclicFft::inverse(double* re, double* im) const {
  if (tables_->kernel == FftKernel::kAvx512)
    fft_avx512_inverse(*tables_, re, im);
  else
    portable_inverse(*tables_, re, im);
}

void NegacyclicFft::inverse_of_product(const double* a, const double* b, double* out) const {
  const int64_t n = tables_->n;
  if (tables_->kernel == FftKernel::kAvx512)
    return fft_avx512_inverse_of_product(*tables_, a, b, out);
  fft_multiply(a, a + n, b, b + n, n, out, out + n);
  portable_inverse(*tables_, out, out + n);
}

void fft_multiply(const double* are, const double* aim, const double* bre, const double* bim,
                  int64_t n, double* ore, double* oim) {
  if (fft_avx512_available() && n % 8 == 0)
    return fft_avx512_multiply(are, aim, bre, bim, n, ore, oim);
  for (int64_t j = 0; j < n; ++j) {
    const double r = are[j] * bre[j] - aim[j] * bim[j];
    const double i = are[j] * bim[j] + aim[j] * bre[j];
    ore[j] = r;
    oim[j] = i;
  }
}

}  // namespace cipherlora
