// The AVX-512 kernel of NegacyclicFft: 8 complex values per pair of vectors (real parts in one,
// imaginary parts in the other). Stages at distance h >= 64 pair whole vectors across the array,
// two stages per pass (one load and store per value per pass); the rest run per chunk of 64
// values held in registers: h = 32, 16, 8 pair the chunk's vectors, then the chunk is transposed
// as an 8×8 matrix (vector l holds values 64c + 8r + l in lane r) so that h = 4, 2, 1 pair whole
// vectors too, with lane-ordered twiddles. The forward transform's output stays transposed and
// the inverse starts from there: products are pointwise, so the order is free, and the inverse
// of a product multiplies as it loads. About 1.3 µs per transform at N = 2048 (n = 1024).
//
// Only functions marked CIPHERLORA_AVX512 use AVX-512; callers check fft_avx512_available().

// g++ 12 flags the intrinsics' own _mm512_undefined_pd() (`__m512d __Y = __Y;`, the unmasked
// forms' pass-through operand) as maybe-uninitialized; the warning is located in the header, so
// silence it there only.
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

// The loads of the inverse's chunk pass: plain, or the pointwise product of two transforms.
// (Structs, not lambdas: a lambda does not inherit the target attribute its inlining needs.)
struct PlainLoad {
  const double *re, *im;
  CIPHERLORA_AVX512_INLINE C operator()(int64_t at) const { return load(re, im, at); }
};
struct ProductLoad {
  const double *are, *aim, *bre, *bim;
  CIPHERLORA_AVX512_INLINE C operator()(int64_t at) const {
    const C a = load(are, aim, at), b = load(bre, bim, at);
    return {_mm512_fmsub_pd(a.r, b.r, _mm512_mul_pd(a.i, b.i)),
            _mm512_fmadd_pd(a.r, b.i, _mm512_mul_pd(a.i, b.r))};
  }
};

// The inverse's chunk pass from `load` (a chunk's 8 vectors, still transposed) into re, im.
template <class Load>
CIPHERLORA_AVX512_INLINE void inverse_chunks(const Tables& t, Load load_chunk, double* re,
                                             double* im) {
  for (int64_t c = 0; c < t.n / 64; ++c) {
    C u[8];
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) u[r] = load_chunk(64 * c + 8 * r);
    lanes_inverse(u, t, c);
    transpose(u);
    chunk_inverse(u, t, c);
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) store(re, im, 64 * c + 8 * r, u[r]);
  }
}

// The stages at distance h >= 64, undone in place.
CIPHERLORA_AVX512_INLINE void inverse_top(const Tables& t, double* re, double* im) {
  const int64_t n = t.n;
  // The stages at distance h >= 64 in the forward's passes, reversed: a lone stage at h = 64
  // first if their count is odd, then pairs. The last stage (m = 1) also scales by 1/n, a power
  // of two: exact.
  const double scale = 1.0 / static_cast<double>(n);
  int stages = 0;
  for (int64_t h = n / 2; h >= 64; h /= 2) ++stages;
  int64_t m = n / 128, h = 64;
  if (stages % 2 == 1) {
    const double s = m == 1 ? scale : 1.0;
    const D sv = bcast(s);
    for (int64_t i = 0; i < m; ++i) {
      const D wr = bcast(t.re[m + i] * s), wi = bcast(t.im[m + i] * s);
      for (int64_t j = 2 * i * h; j < 2 * i * h + h; j += 8) {
        C x = load(re, im, j), y = load(re, im, j + h);
        inv_bfly(x, y, wr, wi);
        if (m == 1) x = {_mm512_mul_pd(x.r, sv), _mm512_mul_pd(x.i, sv)};
        store(re, im, j, x);
        store(re, im, j + h, y);
      }
    }
    m /= 2;
    h *= 2;
  }
  // Pairs: the second stage of the forward pass (m2 = 2m groups at h) undone first, then the
  // first (m groups at 2h).
  for (; m >= 1 && h < n; m /= 4, h *= 4) {
    const int64_t m1 = m / 2, h1 = 2 * h;  // the pair's first forward stage
    const double s = m1 == 1 ? scale : 1.0;
    const D sv = bcast(s);
    for (int64_t i = 0; i < m1; ++i) {
      const D w1r = bcast(t.re[m1 + i] * s), w1i = bcast(t.im[m1 + i] * s);
      const D w2r = bcast(t.re[2 * m1 + 2 * i]), w2i = bcast(t.im[2 * m1 + 2 * i]);
      const D w3r = bcast(t.re[2 * m1 + 2 * i + 1]), w3i = bcast(t.im[2 * m1 + 2 * i + 1]);
      for (int64_t j = 2 * i * h1; j < 2 * i * h1 + h; j += 8) {
        C a = load(re, im, j), b = load(re, im, j + h), c = load(re, im, j + h1),
          d = load(re, im, j + h1 + h);
        inv_bfly(a, b, w2r, w2i);
        inv_bfly(c, d, w3r, w3i);
        inv_bfly(a, c, w1r, w1i);
        inv_bfly(b, d, w1r, w1i);
        if (m1 == 1) {
          a = {_mm512_mul_pd(a.r, sv), _mm512_mul_pd(a.i, sv)};
          b = {_mm512_mul_pd(b.r, sv), _mm512_mul_pd(b.i, sv)};
        }
        store(re, im, j, a);
        store(re, im, j + h, b);
        store(re, im, j + h1, c);
        store(re, im, j + h1 + h, d);
      }
    }
  }
}

}  // namespace

namespace {

// Loads for the forward's first pass: the transform's own arrays, or signed integers converted
// as they are read (the fold puts v[0, n) in the real parts and v[n, 2n) in the imaginary ones).
// (Eight values per widen().)
CIPHERLORA_AVX512_INLINE D widen(const int32_t* p) {
  return _mm512_cvtepi32_pd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
CIPHERLORA_AVX512_INLINE D widen(const int16_t* p) {
  return _mm512_cvtepi32_pd(
      _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
CIPHERLORA_AVX512_INLINE D widen(const int8_t* p) {
  return _mm512_cvtepi32_pd(
      _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
template <class T>
struct IntLoad {
  const T* v;
  int64_t n;
  CIPHERLORA_AVX512_INLINE C operator()(int64_t at) const {
    return {widen(v + at), widen(v + n + at)};
  }
};

template <class Load>
CIPHERLORA_AVX512_INLINE void forward(const Tables& t, Load first, double* re, double* im) {
  const int64_t n = t.n;
  // Stages at distance h >= 64, two per pass where two remain: groups i of the first (m groups)
  // and 2i, 2i + 1 of the second, on quadruples j, j + h/2, j + h, j + 3h/2.
  int64_t m = 1, h = n / 2;
  for (; h >= 128; m *= 4, h /= 4)
    for (int64_t i = 0; i < m; ++i) {
      const D w1r = bcast(t.re[m + i]), w1i = bcast(t.im[m + i]);
      const D w2r = bcast(t.re[2 * m + 2 * i]), w2i = bcast(t.im[2 * m + 2 * i]);
      const D w3r = bcast(t.re[2 * m + 2 * i + 1]), w3i = bcast(t.im[2 * m + 2 * i + 1]);
      const int64_t q = h / 2;
      for (int64_t j = 2 * i * h; j < 2 * i * h + q; j += 8) {
        const bool from_first = m == 1;  // the first pass reads the input through `first`
        C a = from_first ? first(j) : load(re, im, j);
        C b = from_first ? first(j + q) : load(re, im, j + q);
        C c = from_first ? first(j + h) : load(re, im, j + h);
        C d = from_first ? first(j + h + q) : load(re, im, j + h + q);
        fwd_bfly(a, c, w1r, w1i);
        fwd_bfly(b, d, w1r, w1i);
        fwd_bfly(a, b, w2r, w2i);
        fwd_bfly(c, d, w3r, w3i);
        store(re, im, j, a);
        store(re, im, j + q, b);
        store(re, im, j + h, c);
        store(re, im, j + h + q, d);
      }
    }
  if (h == 64)  // an odd number of such stages: the last alone
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

}  // namespace

CIPHERLORA_AVX512 void fft_avx512_forward(const Tables& t, double* re, double* im) {
  forward(t, PlainLoad{re, im}, re, im);
}

CIPHERLORA_AVX512 void fft_avx512_forward_int32(const Tables& t, const int32_t* v, double* re,
                                                double* im) {
  forward(t, IntLoad<int32_t>{v, t.n}, re, im);
}

CIPHERLORA_AVX512 void fft_avx512_forward_int16(const Tables& t, const int16_t* v, double* re,
                                                double* im) {
  forward(t, IntLoad<int16_t>{v, t.n}, re, im);
}

CIPHERLORA_AVX512 void fft_avx512_forward_int8(const Tables& t, const int8_t* v, double* re,
                                               double* im) {
  forward(t, IntLoad<int8_t>{v, t.n}, re, im);
}

CIPHERLORA_AVX512 void fft_avx512_inverse(const Tables& t, double* re, double* im) {
  inverse_chunks(t, PlainLoad{re, im}, re, im);
  inverse_top(t, re, im);
}

CIPHERLORA_AVX512 void fft_avx512_inverse_of_product(const Tables& t, const double* a,
                                                     const double* b, double* out) {
  const int64_t n = t.n;
  inverse_chunks(t, ProductLoad{a, a + n, b, b + n}, out, out + n);
  inverse_top(t, out, out + n);
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
