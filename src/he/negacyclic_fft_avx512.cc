// The AVX-512 kernel of NegacyclicFft: 8 complex values per pair of vectors (real parts in one,
// imaginary parts in the other). The layout follows the IFMA NTT kernel (ntt_ifma.cc): stages at
// distance h >= 64 pair whole vectors across the array, one pass each; the rest run per chunk of
// 64 values held in registers: h = 32, 16, 8 pair the chunk's vectors, then the chunk is
// transposed as an 8×8 matrix (vector l holds values 64c + 8r + l in lane r) so that h = 4, 2, 1
// pair whole vectors too, with lane-ordered twiddles. The forward transform's output stays
// transposed, and the inverse starts from there: products are pointwise, so the order is free.
//
// Only functions marked CIPHERLORA_AVX512 use AVX-512; callers check fft_avx512_available().

// g++ 12 flags the intrinsics' own _mm512_undefined_pd() as maybe-uninitialized (ntt_ifma.cc).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "he/negacyclic_fft_kernels.h"

#define CIPHERLORA_AVX512 __attribute__((target("avx512f,avx512dq")))
#define CIPHERLORA_AVX512_INLINE CIPHERLORA_AVX512 inline __attribute__((always_inline))

namespace cipherlora {
namespace {

using D = __m512d;

struct C {  // 8 complex values
  D r, i;
};

CIPHERLORA_AVX512_INLINE D bcast(double x) {
  return _mm512_set1_pd(x);
}

CIPHERLORA_AVX512_INLINE C load(const double* re, const double* im, int64_t at) {
  return {_mm512_loadu_pd(re + at), _mm512_loadu_pd(im + at)};
}

CIPHERLORA_AVX512_INLINE void store(double* re, double* im, int64_t at, C v) {
  _mm512_storeu_pd(re + at, v.r);
  _mm512_storeu_pd(im + at, v.i);
}

// Cooley–Tukey: (x, y) -> (x + w·y, x − w·y).
CIPHERLORA_AVX512_INLINE void fwd_bfly(C& x, C& y, D wr, D wi) {
  const D tr = _mm512_fmsub_pd(y.r, wr, _mm512_mul_pd(y.i, wi));
  const D ti = _mm512_fmadd_pd(y.r, wi, _mm512_mul_pd(y.i, wr));
  y = {_mm512_sub_pd(x.r, tr), _mm512_sub_pd(x.i, ti)};
  x = {_mm512_add_pd(x.r, tr), _mm512_add_pd(x.i, ti)};
}

// Gentleman–Sande: (x, y) -> (x + y, (x − y)·conj(w)).
CIPHERLORA_AVX512_INLINE void inv_bfly(C& x, C& y, D wr, D wi) {
  const D dr = _mm512_sub_pd(x.r, y.r), di = _mm512_sub_pd(x.i, y.i);
  x = {_mm512_add_pd(x.r, y.r), _mm512_add_pd(x.i, y.i)};
  y = {_mm512_fmadd_pd(dr, wr, _mm512_mul_pd(di, wi)),
       _mm512_fmsub_pd(di, wr, _mm512_mul_pd(dr, wi))};
}

// v[r] lane l <-> v[l] lane r.
CIPHERLORA_AVX512_INLINE void transpose8(D* v) {
  D t[8], s[8];
#pragma GCC unroll 8
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm512_unpacklo_pd(v[k], v[k + 1]);
    t[k + 1] = _mm512_unpackhi_pd(v[k], v[k + 1]);
  }
#pragma GCC unroll 8
  for (int k = 0; k < 8; k += 4)
#pragma GCC unroll 8
    for (int j = 0; j < 2; ++j) {
      s[k + j] = _mm512_shuffle_f64x2(t[k + j], t[k + j + 2], 0x88);
      s[k + j + 2] = _mm512_shuffle_f64x2(t[k + j], t[k + j + 2], 0xDD);
    }
#pragma GCC unroll 8
  for (int j = 0; j < 4; ++j) {
    v[j] = _mm512_shuffle_f64x2(s[j], s[j + 4], 0x88);
    v[j + 4] = _mm512_shuffle_f64x2(s[j], s[j + 4], 0xDD);
  }
}

CIPHERLORA_AVX512_INLINE void transpose(C* u) {
  D r[8], i[8];
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) {
    r[k] = u[k].r;
    i[k] = u[k].i;
  }
  transpose8(r);
  transpose8(i);
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) u[k] = {r[k], i[k]};
}

using Tables = NegacyclicFft::Tables;

// The chunk's stages h = 32, 16, 8 (vector r holds values 64c + 8r ..): broadcast twiddles.
CIPHERLORA_AVX512_INLINE void chunk_forward(C* u, const Tables& t, int64_t c) {
  const int64_t n = t.n;
  {
    const int64_t k = n / 64 + c;
    const D wr = bcast(t.re[k]), wi = bcast(t.im[k]);
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) fwd_bfly(u[r], u[r + 4], wr, wi);
  }
#pragma GCC unroll 2
  for (int g = 0; g < 2; ++g) {
    const int64_t k = n / 32 + 2 * c + g;
    const D wr = bcast(t.re[k]), wi = bcast(t.im[k]);
    fwd_bfly(u[4 * g], u[4 * g + 2], wr, wi);
    fwd_bfly(u[4 * g + 1], u[4 * g + 3], wr, wi);
  }
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    const int64_t k = n / 16 + 4 * c + g;
    fwd_bfly(u[2 * g], u[2 * g + 1], bcast(t.re[k]), bcast(t.im[k]));
  }
}

CIPHERLORA_AVX512_INLINE void chunk_inverse(C* u, const Tables& t, int64_t c) {
  const int64_t n = t.n;
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    const int64_t k = n / 16 + 4 * c + g;
    inv_bfly(u[2 * g], u[2 * g + 1], bcast(t.re[k]), bcast(t.im[k]));
  }
#pragma GCC unroll 2
  for (int g = 0; g < 2; ++g) {
    const int64_t k = n / 32 + 2 * c + g;
    const D wr = bcast(t.re[k]), wi = bcast(t.im[k]);
    inv_bfly(u[4 * g], u[4 * g + 2], wr, wi);
    inv_bfly(u[4 * g + 1], u[4 * g + 3], wr, wi);
  }
  const int64_t k = n / 64 + c;
  const D wr = bcast(t.re[k]), wi = bcast(t.im[k]);
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) inv_bfly(u[r], u[r + 4], wr, wi);
}

// The stages h = 4, 2, 1 on a transposed chunk (vector l holds values 64c + 8r + l in lane r):
// lane r of a twiddle vector is the group of lane r's value.
CIPHERLORA_AVX512_INLINE void lanes_forward(C* u, const Tables& t, int64_t c) {
  const D w4r = _mm512_loadu_pd(t.re.data() + t.n / 8 + 8 * c);
  const D w4i = _mm512_loadu_pd(t.im.data() + t.n / 8 + 8 * c);
#pragma GCC unroll 4
  for (int l = 0; l < 4; ++l) fwd_bfly(u[l], u[l + 4], w4r, w4i);
#pragma GCC unroll 2
  for (int g = 0; g < 2; ++g) {
    const D wr = _mm512_loadu_pd(t.re2.data() + 16 * c + 8 * g);
    const D wi = _mm512_loadu_pd(t.im2.data() + 16 * c + 8 * g);
    fwd_bfly(u[4 * g], u[4 * g + 2], wr, wi);
    fwd_bfly(u[4 * g + 1], u[4 * g + 3], wr, wi);
  }
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g)
    fwd_bfly(u[2 * g], u[2 * g + 1], _mm512_loadu_pd(t.re1.data() + 32 * c + 8 * g),
             _mm512_loadu_pd(t.im1.data() + 32 * c + 8 * g));
}

CIPHERLORA_AVX512_INLINE void lanes_inverse(C* u, const Tables& t, int64_t c) {
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g)
    inv_bfly(u[2 * g], u[2 * g + 1], _mm512_loadu_pd(t.re1.data() + 32 * c + 8 * g),
             _mm512_loadu_pd(t.im1.data() + 32 * c + 8 * g));
#pragma GCC unroll 2
  for (int g = 0; g < 2; ++g) {
    const D wr = _mm512_loadu_pd(t.re2.data() + 16 * c + 8 * g);
    const D wi = _mm512_loadu_pd(t.im2.data() + 16 * c + 8 * g);
    inv_bfly(u[4 * g], u[4 * g + 2], wr, wi);
    inv_bfly(u[4 * g + 1], u[4 * g + 3], wr, wi);
  }
  const D w4r = _mm512_loadu_pd(t.re.data() + t.n / 8 + 8 * c);
  const D w4i = _mm512_loadu_pd(t.im.data() + t.n / 8 + 8 * c);
#pragma GCC unroll 4
  for (int l = 0; l < 4; ++l) inv_bfly(u[l], u[l + 4], w4r, w4i);
}

}  // namespace

CIPHERLORA_AVX512 void fft_avx512_forward(const Tables& t, double* re, double* im) {
  const int64_t n = t.n;
  for (int64_t m = 1, h = n / 2; h >= 64; m *= 2, h /= 2)
    for (int64_t i = 0; i < m; ++i) {
      const D wr = bcast(t.re[m + i]), wi = bcast(t.im[m + i]);
      for (int64_t j = 2 * i * h; j < 2 * i * h + h; j += 8) {
        C x = load(re, im, j), y = load(re, im, j + h);
        fwd_bfly(x, y, wr, wi);
        store(re, im, j, x);
        store(re, im, j + h, y);
      }
    }
  for (int64_t c = 0; c < n / 64; ++c) {
    C u[8];
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) u[r] = load(re, im, 64 * c + 8 * r);
    chunk_forward(u, t, c);
    transpose(u);
    lanes_forward(u, t, c);
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) store(re, im, 64 * c + 8 * r, u[r]);
  }
}

CIPHERLORA_AVX512 void fft_avx512_inverse(const Tables& t, double* re, double* im) {
  const int64_t n = t.n;
  for (int64_t c = 0; c < n / 64; ++c) {
    C u[8];
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) u[r] = load(re, im, 64 * c + 8 * r);
    lanes_inverse(u, t, c);
    transpose(u);
    chunk_inverse(u, t, c);
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) store(re, im, 64 * c + 8 * r, u[r]);
  }
  // The last stage (m = 1) also scales by 1/n, a power of two: exact.
  const double scale = 1.0 / static_cast<double>(n);
  for (int64_t m = n / 128, h = 64; m >= 1; m /= 2, h *= 2)
    for (int64_t i = 0; i < m; ++i) {
      const double s = m == 1 ? scale : 1.0;
      const D wr = bcast(t.re[m + i] * s), wi = bcast(t.im[m + i] * s), sv = bcast(s);
      for (int64_t j = 2 * i * h; j < 2 * i * h + h; j += 8) {
        C x = load(re, im, j), y = load(re, im, j + h);
        inv_bfly(x, y, wr, wi);
        if (m == 1) x = {_mm512_mul_pd(x.r, sv), _mm512_mul_pd(x.i, sv)};
        store(re, im, j, x);
        store(re, im, j + h, y);
      }
    }
}

CIPHERLORA_AVX512 void fft_avx512_multiply(const double* are, const double* aim, const double* bre,
                                           const double* bim, int64_t n, double* ore, double* oim) {
  for (int64_t j = 0; j < n; j += 8) {
    const D ar = _mm512_loadu_pd(are + j), ai = _mm512_loadu_pd(aim + j);
    const D br = _mm512_loadu_pd(bre + j), bi = _mm512_loadu_pd(bim + j);
    _mm512_storeu_pd(ore + j, _mm512_fmsub_pd(ar, br, _mm512_mul_pd(ai, bi)));
    _mm512_storeu_pd(oim + j, _mm512_fmadd_pd(ar, bi, _mm512_mul_pd(ai, br)));
  }
}

}  // namespace cipherlora
