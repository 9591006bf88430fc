// Internal to src/he/, not a public header: the twiddle tables behind NegacyclicFft and its two
// kernels, shared by negacyclic_fft.cc (tables, portable kernel, dispatch) and
// negacyclic_fft_avx512.cc. Both kernels evaluate at the same points; only their output order
// differs (portable: the Cooley–Tukey order; AVX-512: that order with each 64-value chunk
// transposed as an 8×8 matrix).
#pragma once

#include <cstdint>
#include <vector>

#include "he/negacyclic_fft.h"

namespace cipherlora {

struct NegacyclicFft::Tables {
  int log_n = 0;  // of N
  int64_t n = 0;  // N/2 complex values
  FftKernel kernel = FftKernel::kPortable;
  // Heap-ordered split twiddles, entry m + i for group i of the stage with m groups (1 <= m < n):
  // r = √c of the group's factor x^2h − c. The inverse uses conj(r).
  std::vector<double> re, im;
  // AVX-512 only: the twiddles of the stages at distance 2 and 1 in lane order (see the kernel).
  std::vector<double> re2, im2, re1, im1;
};

void fft_avx512_forward(const NegacyclicFft::Tables& t, double* re, double* im);
// The forward of signed integers v [2n], converted as they are read.
void fft_avx512_forward_int32(const NegacyclicFft::Tables& t, const int32_t* v, double* re,
                              double* im);
void fft_avx512_forward_int16(const NegacyclicFft::Tables& t, const int16_t* v, double* re,
                              double* im);
void fft_avx512_forward_int8(const NegacyclicFft::Tables& t, const int8_t* v, double* re,
                             double* im);
void fft_avx512_inverse(const NegacyclicFft::Tables& t, double* re, double* im);
// out = inverse(a · b), a, b, out: [2n] (re then im).
void fft_avx512_inverse_of_product(const NegacyclicFft::Tables& t, const double* a, const double* b,
                                   double* out);
void fft_avx512_multiply(const double* are, const double* aim, const double* bre, const double* bim,
                         int64_t n, double* ore, double* oim);

}  // namespace cipherlora
