#include "he/column_transpose.h"

#include <emmintrin.h>

#include <algorithm>
#include <cstdint>

namespace cipherlora {

// 8 tokens at a time, so that the rows being read stay in L1, with software prefetch two blocks
// ahead: the rows are ld words apart, out of reach of the hardware prefetcher. (8×8 register
// transposes measured no faster: the reads wait on memory, not on the moves.)
void gather_columns(const int32_t* x, int64_t T, int64_t ld, int64_t k0, int64_t kn, int32_t* xt,
                    int64_t ldt) {
  for (int64_t t0 = 0; t0 < T; t0 += 8) {
    const int64_t t1 = std::min(t0 + 8, T);
    for (int64_t t = t0 + 16; t < std::min(t0 + 24, T); ++t)
      for (int64_t i = 0; i < kn; i += 16) __builtin_prefetch(x + t * ld + k0 + i);
    for (int64_t i = 0; i < kn; ++i)
      for (int64_t t = t0; t < t1; ++t) xt[i * ldt + t] = x[t * ld + k0 + i];
  }
}

// One token's row segment at a time, with 16-byte streaming stores where y's rows allow them:
// whole lines reach the write-combining buffers in order.
void scatter_columns(const int64_t* v, int64_t ldv, int64_t T, int64_t jn, int64_t* y, int64_t ld,
                     int64_t j0) {
  const bool stream =
      reinterpret_cast<uintptr_t>(y) % 16 == 0 && ld % 2 == 0 && j0 % 2 == 0 && jn % 2 == 0;
  for (int64_t t = 0; t < T; ++t) {
    int64_t* row = y + t * ld + j0;
    if (stream) {
      for (int64_t i = 0; i < jn; i += 2)
        _mm_stream_si128(reinterpret_cast<__m128i*>(row + i),
                         _mm_set_epi64x(v[(i + 1) * ldv + t], v[i * ldv + t]));
    } else {
      for (int64_t i = 0; i < jn; ++i) row[i] = v[i * ldv + t];
    }
  }
  if (stream) _mm_sfence();  // streaming stores are weakly ordered: publish them
}

}  // namespace cipherlora
