// Floating-point transform for products in Z[x]/(x^N + 1): the engine of the client's ring
// products (fft_ring_product.h), which only need each product's integer coefficients, and get
// them exactly by rounding as long as the inputs are small enough (the caller splits them into
// limbs; error bound below).
//
// A real polynomial a of degree < N is folded into n = N/2 complex values u_j = a_j + i·a_{j+n}:
// that is a mod (x^n − i), and since x^N + 1 = (x^n − i)(x^n + i) with the second factor the
// conjugate of the first, it loses nothing for real a. forward() evaluates u at the n roots of
// x^n − i by Cooley–Tukey splits x^2h − c = (x^h − √c)(x^h + √c), so there the product is
// pointwise, and inverse() undoes it (with the 1/n), giving c_j + i·c_{j+n}. No twisting or
// bit-reversal passes: the evaluations stay in the kernel's own order, which pointwise products
// do not care about.
//
// Error: the computed product of integer polynomials a, b differs from the exact one in every
// coefficient by at most ‖a‖₂·‖b‖₂·kFftErrorBound. The classic bound for a radix-2 FFT
// convolution with correctly rounded twiddles is about ε·(3·log2 n + (3·log2 n + 1)·√5 + ...)
// ≈ 130ε at n = 2^14 (ε = 2^-53); kFftErrorBound = 2^-44 = 512ε leaves a margin of 4 or more,
// and the tests measure the worst observed ratio far below it.
//
// The fold is the identity on memory: a real polynomial a [N] is the split complex vector
// re = a[0, n), im = a[n, N), and so is the inverse's output, the product's coefficients.
//
//   const NegacyclicFft& fft = NegacyclicFft::shared(11);   // N = 2048
//   fft.forward_from(a, at);                  // a: [N] int32, int16 or int8; at: [N] double
//   fft.forward_from(b, bt);
//   fft.inverse_of_product(at, bt, c);        // c: [N] double, a·b's coefficients (unrounded)
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace cipherlora {

inline constexpr double kFftErrorBound = 0x1p-44;

enum class FftKernel { kPortable, kAvx512, kBest };

// True when the CPU has AVX-512 F and DQ. Computed once.
bool fft_avx512_available();

class NegacyclicFft {
 public:
  // N = 2^log_n, log_n in 10..15. kAvx512 without the CPU is an Error; kBest picks.
  explicit NegacyclicFft(int log_n, FftKernel kernel = FftKernel::kBest);
  ~NegacyclicFft();
  NegacyclicFft(NegacyclicFft&&) noexcept;
  NegacyclicFft& operator=(NegacyclicFft&&) noexcept;

  // The process-wide transform for (log_n, kBest), built once (its tables are public constants).
  static const NegacyclicFft& shared(int log_n);

  int64_t degree() const;  // N
  int64_t size() const;    // n = N/2 complex values
  FftKernel kernel() const;

  // In place on split complex arrays re, im: [n] each (any alignment).
  void forward(double* re, double* im) const;
  // out [N] = (re [n], im [n]) = the transform of signed integers v [N] (folded: no copy).
  void forward_from(std::span<const int32_t> v, double* out) const;
  void forward_from(std::span<const int16_t> v, double* out) const;
  void forward_from(std::span<const int8_t> v, double* out) const;
  void inverse(double* re, double* im) const;  // includes the 1/n
  // out = inverse(a · b) for transformed a, b: [N] = (re [n], im [n]) each; out [N] likewise,
  // which unfolded is the product's N coefficients. The AVX-512 kernel multiplies as it loads.
  void inverse_of_product(const double* a, const double* b, double* out) const;

  struct Tables;

 private:
  // forward_from() for either integer type; avx512: that type's kernel entry.
  template <class T, class Avx512Forward>
  void forward_signed(std::span<const T> v, double* out, Avx512Forward avx512) const;

  std::unique_ptr<Tables> tables_;
};

// out[i] = a[i]·b[i] for n split complex values; out may alias a or b.
void fft_multiply(const double* are, const double* aim, const double* bre, const double* bim,
                  int64_t n, double* ore, double* oim);

}  // namespace cipherlora
