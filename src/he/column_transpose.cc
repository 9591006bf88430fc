#include "he/column_transpose.h"

#include <emmintrin.h>

#include <algorithm>
#include <cstdint>

// g++ 12 flags the intrinsics header's own _mm512_undefined_epi32().
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "common/cpu_features.h"

namespace cipherlora {
namespace {

#define CIPHERLORA_AVX512 __attribute__((target("avx512f")))

bool avx512_available() {
  return cpu_features().avx512f;
}

// Portable gather of rows [t_begin, T): 8 tokens at a time, so that the rows being read stay in
// L1, with software prefetch two blocks ahead: the rows are ld words apart, out of reach of the
// hardware prefetcher.
template <class X>
void gather_portable(const X* x, int64_t t_begin, int64_t T, int64_t ld, int64_t k0, int64_t kn,
                     int32_t* xt, int64_t ldt) {
  constexpr int64_t kLine = 64 / sizeof(X);  // values per cache line
  for (int64_t t0 = t_begin; t0 < T; t0 += 8) {
    const int64_t t1 = std::min(t0 + 8, T);
    for (int64_t t = t0 + 16; t < std::min(t0 + 24, T); ++t)
      for (int64_t i = 0; i < kn; i += kLine) __builtin_prefetch(x + t * ld + k0 + i);
    for (int64_t i = 0; i < kn; ++i)
      for (int64_t t = t0; t < t1; ++t) xt[i * ldt + t] = x[t * ld + k0 + i];
  }
}

// 16 values of a row as 16 words: int8 rows are sign-extended on the way in.
CIPHERLORA_AVX512 inline __m512i load_16(const int32_t* p) {
  return _mm512_loadu_si512(p);
}
CIPHERLORA_AVX512 inline __m512i load_16(const int8_t* p) {
  return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// r[j] = row j of a 16×16 block of 32-bit words -> r[j] = column j: four rounds of in-register
// interleaves (words, pairs, 128-bit quarters, halves).
CIPHERLORA_AVX512 inline void transpose_16x16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int i = 0; i < 16; i += 8)
    for (int j = 0; j < 4; ++j) {
      t[i + j] = _mm512_shuffle_i32x4(r[i + j], r[i + j + 4], 0x88);
      t[i + j + 4] = _mm512_shuffle_i32x4(r[i + j], r[i + j + 4], 0xdd);
    }
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0x88);
    r[j + 8] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0xdd);
  }
}

// 16 tokens × 16 columns per block: each row's 16 values are one load, each column's 16 tokens one
// store, and the rows 32 tokens ahead are prefetched to L2. Columns past the last whole 16 go
// through the portable loop; returns the first token the blocks did not cover.
template <class X>
CIPHERLORA_AVX512 int64_t gather_avx512(const X* x, int64_t T, int64_t ld, int64_t k0, int64_t kn,
                                        int32_t* xt, int64_t ldt) {
  constexpr int64_t kLine = 64 / sizeof(X);
  const int64_t kb = kn / 16 * 16, tb = T / 16 * 16;
  if (kb == 0) return 0;
  for (int64_t t0 = 0; t0 < tb; t0 += 16) {
    for (int64_t t = t0 + 32; t < std::min(t0 + 48, T); ++t)
      for (int64_t i = 0; i < kn; i += kLine) _mm_prefetch(x + t * ld + k0 + i, _MM_HINT_T1);
    for (int64_t i0 = 0; i0 < kb; i0 += 16) {
      __m512i r[16];
      for (int j = 0; j < 16; ++j) r[j] = load_16(x + (t0 + j) * ld + k0 + i0);
      transpose_16x16(r);
      for (int j = 0; j < 16; ++j) _mm512_storeu_si512(xt + (i0 + j) * ldt + t0, r[j]);
    }
    for (int64_t i = kb; i < kn; ++i)
      for (int64_t t = t0; t < t0 + 16; ++t) xt[i * ldt + t] = x[t * ld + k0 + i];
  }
  return tb;
}

// s[j] = token t0 + j's 8 values of columns i0..i0+7, from v[i·ldv + t]: 64-bit interleaves,
// then 128-bit quarters, then halves.
CIPHERLORA_AVX512 inline void transpose_8x8(const int64_t* v, int64_t ldv, int64_t i0, int64_t t0,
                                            __m512i s[8]) {
  __m512i r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm512_loadu_si512(v + (i0 + i) * ldv + t0);
  for (int i = 0; i < 8; i += 2) {
    s[i] = _mm512_unpacklo_epi64(r[i], r[i + 1]);
    s[i + 1] = _mm512_unpackhi_epi64(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4)
    for (int j = 0; j < 2; ++j) {
      r[i + j] = _mm512_shuffle_i64x2(s[i + j], s[i + j + 2], 0x88);
      r[i + j + 2] = _mm512_shuffle_i64x2(s[i + j], s[i + j + 2], 0xdd);
    }
  for (int j = 0; j < 4; ++j) {
    s[j] = _mm512_shuffle_i64x2(r[j], r[j + 4], 0x88);
    s[j + 4] = _mm512_shuffle_i64x2(r[j], r[j + 4], 0xdd);
  }
}

// One 64-byte streaming store per row segment: 8 tokens × 8 int64 columns, or 16 tokens × 16
// int32 columns, per register block. Columns [i_begin, i_end) of the tile, whose destination
// y + j0 + i_begin must be 64-byte aligned on every row; tokens below tb (a multiple of the block).
// (Four 16-byte streaming stores per segment measured 50% slower than the portable loop's
// row-ordered ones.)
template <class Y>
CIPHERLORA_AVX512 void scatter_blocks(const Y* v, int64_t ldv, int64_t tb, int64_t i_begin,
                                      int64_t i_end, Y* y, int64_t ld, int64_t j0) {
  constexpr int64_t kWidth = 64 / sizeof(Y);
  for (int64_t t0 = 0; t0 < tb; t0 += kWidth)
    for (int64_t i0 = i_begin; i0 < i_end; i0 += kWidth) {
      __m512i s[kWidth];
      if constexpr (sizeof(Y) == 8) {
        transpose_8x8(v, ldv, i0, t0, s);
      } else {
        for (int i = 0; i < 16; ++i) s[i] = _mm512_loadu_si512(v + (i0 + i) * ldv + t0);
        transpose_16x16(s);
      }
      for (int j = 0; j < kWidth; ++j)  // s[j]: token t0 + j
        _mm512_stream_si512(reinterpret_cast<__m512i*>(y + (t0 + j) * ld + j0 + i0), s[j]);
    }
}

template <class X>
void gather(const X* x, int64_t T, int64_t ld, int64_t k0, int64_t kn, int32_t* xt, int64_t ldt,
            TransposeKernel kernel) {
  const bool wide = kernel == TransposeKernel::kBest && avx512_available();
  const int64_t done = wide ? gather_avx512(x, T, ld, k0, kn, xt, ldt) : 0;
  gather_portable(x, done, T, ld, k0, kn, xt, ldt);
}

// Register blocks where y's rows are 64-byte aligned, the columns before and after the aligned
// blocks one word at a time; otherwise one token's row segment at a time, with 16-byte streaming
// stores where y's rows allow them (int64), so that whole lines reach the write-combining buffers
// in order.
template <class Y>
void scatter(const Y* v, int64_t ldv, int64_t T, int64_t jn, Y* y, int64_t ld, int64_t j0,
             TransposeKernel kernel) {
  constexpr int64_t kWidth = 64 / sizeof(Y);  // columns (and tokens) per register block
  const auto plain = [&](int64_t t_begin, int64_t t_end, int64_t i_begin, int64_t i_end) {
    for (int64_t t = t_begin; t < t_end; ++t)
      for (int64_t i = i_begin; i < i_end; ++i) y[t * ld + j0 + i] = v[i * ldv + t];
  };
  if (kernel == TransposeKernel::kBest && avx512_available() &&
      reinterpret_cast<uintptr_t>(y) % 64 == 0 && ld % kWidth == 0) {
    const int64_t head = std::min(jn, (kWidth - j0 % kWidth) % kWidth);
    const int64_t body_end = head + (jn - head) / kWidth * kWidth, tb = T / kWidth * kWidth;
    scatter_blocks(v, ldv, tb, head, body_end, y, ld, j0);
    plain(0, tb, 0, head);
    plain(0, tb, body_end, jn);
    plain(tb, T, 0, jn);
    _mm_sfence();  // streaming stores are weakly ordered: publish them
    return;
  }
  if constexpr (sizeof(Y) == 8) {
    if (reinterpret_cast<uintptr_t>(y) % 16 == 0 && ld % 2 == 0 && j0 % 2 == 0 && jn % 2 == 0) {
      for (int64_t t = 0; t < T; ++t) {
        Y* row = y + t * ld + j0;
        for (int64_t i = 0; i < jn; i += 2)
          _mm_stream_si128(reinterpret_cast<__m128i*>(row + i),
                           _mm_set_epi64x(v[(i + 1) * ldv + t], v[i * ldv + t]));
      }
      _mm_sfence();
      return;
    }
  }
  plain(0, T, 0, jn);
}

}  // namespace

void gather_columns(const int32_t* x, int64_t T, int64_t ld, int64_t k0, int64_t kn, int32_t* xt,
                    int64_t ldt, TransposeKernel kernel) {
  gather(x, T, ld, k0, kn, xt, ldt, kernel);
}

void gather_columns(const int8_t* x, int64_t T, int64_t ld, int64_t k0, int64_t kn, int32_t* xt,
                    int64_t ldt, TransposeKernel kernel) {
  gather(x, T, ld, k0, kn, xt, ldt, kernel);
}

void scatter_columns(const int64_t* v, int64_t ldv, int64_t T, int64_t jn, int64_t* y, int64_t ld,
                     int64_t j0, TransposeKernel kernel) {
  scatter(v, ldv, T, jn, y, ld, j0, kernel);
}

void scatter_columns(const int32_t* v, int64_t ldv, int64_t T, int64_t jn, int32_t* y, int64_t ld,
                     int64_t j0, TransposeKernel kernel) {
  scatter(v, ldv, T, jn, y, ld, j0, kernel);
}

}  // namespace cipherlora
