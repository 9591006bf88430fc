// The AVX-512 IFMA kernel of the NTT and the ring product (see he/ntt_kernels.h for the value
// ranges). Eight 52-bit lanes per vector; vpmadd52huq/luq give the high and low 52 bits of a
// 52×52-bit product, which is all a Shoup multiplication needs when p < 2^50.
//
// Layout. A stage at distance h >= 8 pairs whole vectors (lane-wise, one broadcast twiddle per
// group). The stages at h >= 64 run as passes of 3 or 2 stages (one load and store per element
// per pass). The rest run per 64-element chunk held in 8 registers: h = 32, 16, 8 pair the chunk's
// vectors; for h = 4, 2, 1, which pair lanes, the chunk is transposed as an 8×8 matrix of words
// (vector l then holds elements 64c + 8r + l in lane r) and the pairs are whole vectors again,
// with each stage's twiddles 8 consecutive words once ifma_permute_tables() has reordered them.
// The ring product multiplies pointwise while the chunk is transposed, so its forward stages, the
// product and its inverse stages share one load and store per element; the transform never leaves
// the bit-reversed NTT order. The two transposes per chunk are about a tenth of the time.
//
// Zen 4 runs vpmadd52 and vpminuq at one 512-bit op per cycle and adds at two: a butterfly (3
// madd, 1 min, 5 adds) is bound by issue, about 5 cycles, so the code minimizes operations and
// keeps two chunks in flight (one chunk alone is a chain of dependent stages).
//
// Only functions marked CIPHERLORA_IFMA use AVX-512; callers check ntt_ifma_available() first.

// g++ 12 flags the intrinsics' own _mm512_undefined_epi32() (`__m512i __Y = __Y;`, the
// unmasked forms' pass-through operand) as maybe-uninitialized; the warning is located in the
// header, so silence it there only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cassert>
#include <vector>

#include "he/ntt_kernels.h"

#define CIPHERLORA_IFMA __attribute__((target("avx512f,avx512ifma,avx512vl,avx512dq")))
#define CIPHERLORA_IFMA_INLINE CIPHERLORA_IFMA inline __attribute__((always_inline))

namespace cipherlora {
namespace {

using V = __m512i;

constexpr uint64_t kMask52 = (uint64_t{1} << 52) - 1;

struct Mod {
  V p, p2, neg_p, mask52;  // p, 2p, 2^52 - p, 2^52 - 1
};

CIPHERLORA_IFMA_INLINE V bcast(uint64_t x) {
  return _mm512_set1_epi64(static_cast<long long>(x));
}
CIPHERLORA_IFMA_INLINE V load(const uint64_t* p) {
  return _mm512_loadu_si512(p);
}
CIPHERLORA_IFMA_INLINE void store(uint64_t* p, V v) {
  _mm512_storeu_si512(p, v);
}

CIPHERLORA_IFMA_INLINE Mod make_mod(uint64_t p) {
  return {bcast(p), bcast(2 * p), bcast((uint64_t{1} << 52) - p), bcast(kMask52)};
}

// x - bound where x >= bound, else x (unsigned min: x - bound wraps to a huge value otherwise).
CIPHERLORA_IFMA_INLINE V reduce(V x, V bound) {
  return _mm512_min_epu64(x, _mm512_sub_epi64(x, bound));
}

// w·y mod p in [0, 2p) for y < 2^52, wq = floor(w·2^52 / p). The low 52 bits of w·y - q·p are
// the result since it is below 2^51; -q·p is added as q·(2^52 - p).
CIPHERLORA_IFMA_INLINE V mul_shoup(V y, V w, V wq, const Mod& m) {
  const V zero = _mm512_setzero_si512();
  const V q = _mm512_madd52hi_epu64(zero, wq, y);
  V r = _mm512_madd52lo_epu64(zero, w, y);
  r = _mm512_madd52lo_epu64(r, q, m.neg_p);
  return _mm512_and_si512(r, m.mask52);
}

// Cooley–Tukey: (x, y) -> (x + w·y, x - w·y), [0, 4p) -> [0, 4p). kXBelow2p: x is known to be
// in [0, 2p) already (the transform's input).
template <bool kXBelow2p = false>
CIPHERLORA_IFMA_INLINE void fwd_bfly(V& x, V& y, V w, V wq, const Mod& m) {
  const V u = kXBelow2p ? x : reduce(x, m.p2);
  const V v = mul_shoup(y, w, wq, m);
  x = _mm512_add_epi64(u, v);
  y = _mm512_add_epi64(_mm512_sub_epi64(u, v), m.p2);
}

// Gentleman–Sande: (x, y) -> (x + y, w·(x - y)), [0, 2p) -> [0, 2p).
CIPHERLORA_IFMA_INLINE void inv_bfly(V& x, V& y, V w, V wq, const Mod& m) {
  const V d = _mm512_add_epi64(_mm512_sub_epi64(x, y), m.p2);
  x = reduce(_mm512_add_epi64(x, y), m.p2);
  y = mul_shoup(d, w, wq, m);
}

// ---- stages that pair whole vectors (distance h >= 8) -------------------------------------------

// A pass runs kLog consecutive stages, the first with m groups at distance h, on K = 2^kLog
// vectors at a time: u[k] from offset 2ih + k·(2h/K) + j of group i. Stage s pairs u[k] with
// u[k + K/2^(s+1)] and uses twiddle entry ((m + i) << s) + (k >> (kLog - s)). The twiddles are
// broadcast from memory where used rather than held in registers: 14 of them for a 3-stage block
// would not fit beside the data.
template <int kLog, bool kInputBelow2p = false>
CIPHERLORA_IFMA_INLINE void forward_block(V* u, const uint64_t* w, const uint64_t* wq,
                                          int64_t m_plus_i, const Mod& md) {
  constexpr int K = 1 << kLog;
#pragma GCC unroll 8
  for (int s = 0; s < kLog; ++s)
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k)
      if ((k & (K >> (s + 1))) == 0) {
        const int64_t at = (m_plus_i << s) + (k >> (kLog - s));
        if (kInputBelow2p && s == 0)
          fwd_bfly<true>(u[k], u[k + (K >> (s + 1))], bcast(w[at]), bcast(wq[at]), md);
        else
          fwd_bfly(u[k], u[k + (K >> (s + 1))], bcast(w[at]), bcast(wq[at]), md);
      }
}

// The inverse of forward_block. kScale: the first stage (s = 0) is the transform's last and
// also multiplies by 1/N: x by n_inv, y by t.inv_last instead of its twiddle.
template <int kLog, bool kScale = false>
CIPHERLORA_IFMA_INLINE void inverse_block(V* u, const NttTables& t, int64_t m_plus_i,
                                          const Mod& md) {
  constexpr int K = 1 << kLog;
  const uint64_t* w = t.inv.data();
  const uint64_t* wq = t.inv_quot.data();
#pragma GCC unroll 8
  for (int s = kLog - 1; s >= 0; --s)
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k)
      if ((k & (K >> (s + 1))) == 0) {
        const int64_t at = (m_plus_i << s) + (k >> (kLog - s));
        V& x = u[k];
        V& y = u[k + (K >> (s + 1))];
        if (kScale && s == 0) {
          const V d = _mm512_add_epi64(_mm512_sub_epi64(x, y), md.p2);
          x = mul_shoup(_mm512_add_epi64(x, y), bcast(t.n_inv), bcast(t.n_inv_quot), md);
          y = mul_shoup(d, bcast(t.inv_last), bcast(t.inv_last_quot), md);
        } else {
          inv_bfly(x, y, bcast(w[at]), bcast(wq[at]), md);
        }
      }
}

// Loads and stores of a pass, by element offset: plain in place, or the transform's ends.
// kBelow2p: the loaded values are in [0, 2p), so the first stage need not reduce them.
struct PlainLoad {
  static constexpr bool kBelow2p = false;
  const uint64_t* a;
  CIPHERLORA_IFMA_INLINE V operator()(int64_t at) const { return load(a + at); }
};
struct InputLoad {  // the public forward's input, in [0, p)
  static constexpr bool kBelow2p = true;
  const uint64_t* a;
  CIPHERLORA_IFMA_INLINE V operator()(int64_t at) const { return load(a + at); }
};
struct PlainStore {
  uint64_t* a;
  CIPHERLORA_IFMA_INLINE void operator()(int64_t at, V v) const { store(a + at, v); }
};
struct ReducingStore {  // [0, 2p) -> [0, p)
  uint64_t* a;
  V p;
  CIPHERLORA_IFMA_INLINE void operator()(int64_t at, V v) const { store(a + at, reduce(v, p)); }
};

template <int kLog, class Load, class Store>
CIPHERLORA_IFMA_INLINE void forward_pass(const NttTables& t, int64_t m, int64_t h, Load in,
                                         Store out, const Mod& md) {
  constexpr int K = 1 << kLog;
  const int64_t stride = 2 * h / K;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 2 * i * h; j < 2 * i * h + stride; j += 8) {
      V u[K];
#pragma GCC unroll 8
      for (int k = 0; k < K; ++k) u[k] = in(j + k * stride);
      forward_block<kLog, Load::kBelow2p>(u, t.fwd.data(), t.fwd_quot.data(), m + i, md);
#pragma GCC unroll 8
      for (int k = 0; k < K; ++k) out(j + k * stride, u[k]);
    }
}

template <int kLog, bool kScale, class Store>
CIPHERLORA_IFMA_INLINE void inverse_pass(const NttTables& t, int64_t m, int64_t h, uint64_t* a,
                                         Store out, const Mod& md) {
  constexpr int K = 1 << kLog;
  const int64_t stride = 2 * h / K;
  assert(!kScale || m == 1);  // only the last pass scales
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 2 * i * h; j < 2 * i * h + stride; j += 8) {
      V u[K];
#pragma GCC unroll 8
      for (int k = 0; k < K; ++k) u[k] = load(a + j + k * stride);
      inverse_block<kLog, kScale>(u, t, m + i, md);
#pragma GCC unroll 8
      for (int k = 0; k < K; ++k) out(j + k * stride, u[k]);
    }
}

// The stages at distance >= 64 (log_n - 6 of them, 4..9) as passes of 3 or 2 stages, largest
// distance first: 4 = 2+2, 5 = 3+2, 6 = 3+3, 7 = 3+2+2, 8 = 3+3+2, 9 = 3+3+3.
struct Pass {
  int log_k;
  int64_t m, h;
};
struct TopPasses {
  Pass pass[3];
  int count = 0;
  explicit TopPasses(const NttTables& t) {
    int64_t m = 1, h = t.n / 2;
    for (int left = t.log_n - 6; left > 0; count++) {
      const int k = left == 4 || left == 2 ? 2 : 3;
      pass[count] = {k, m, h};
      m <<= k;
      h >>= k;
      left -= k;
    }
  }
};

// The first pass reads through `first` (the ring product's input conversion) into a.
template <class Load>
CIPHERLORA_IFMA_INLINE void forward_top(const NttTables& t, Load first, uint64_t* a,
                                        const Mod& md) {
  const TopPasses passes(t);
  for (int k = 0; k < passes.count; ++k) {
    const Pass& p = passes.pass[k];
    if (k == 0) {
      if (p.log_k == 3)
        forward_pass<3>(t, p.m, p.h, first, PlainStore{a}, md);
      else
        forward_pass<2>(t, p.m, p.h, first, PlainStore{a}, md);
    } else {
      if (p.log_k == 3)
        forward_pass<3>(t, p.m, p.h, PlainLoad{a}, PlainStore{a}, md);
      else
        forward_pass<2>(t, p.m, p.h, PlainLoad{a}, PlainStore{a}, md);
    }
  }
}

// The last pass (m = 1) writes through `last`; kScale folds in the 1/N.
template <bool kScale, class Store>
CIPHERLORA_IFMA_INLINE void inverse_top(const NttTables& t, uint64_t* a, Store last,
                                        const Mod& md) {
  const TopPasses passes(t);
  for (int k = passes.count - 1; k >= 0; --k) {
    const Pass& p = passes.pass[k];
    if (k == 0) {
      if (p.log_k == 3)
        inverse_pass<3, kScale>(t, p.m, p.h, a, last, md);
      else
        inverse_pass<2, kScale>(t, p.m, p.h, a, last, md);
    } else {
      if (p.log_k == 3)
        inverse_pass<3, false>(t, p.m, p.h, a, PlainStore{a}, md);
      else
        inverse_pass<2, false>(t, p.m, p.h, a, PlainStore{a}, md);
    }
  }
}

// ---- the chunk stages (h = 32 ... 1) ------------------------------------------------------------

// v[r] lane l <-> v[l] lane r: three rounds of 64-bit, 128-bit and 256-bit interleaves.
CIPHERLORA_IFMA_INLINE void transpose8(V* v) {
  V t[8], s[8];
#pragma GCC unroll 8
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm512_unpacklo_epi64(v[k], v[k + 1]);
    t[k + 1] = _mm512_unpackhi_epi64(v[k], v[k + 1]);
  }
#pragma GCC unroll 8
  for (int k = 0; k < 8; k += 4)
#pragma GCC unroll 8
    for (int j = 0; j < 2; ++j) {
      s[k + j] = _mm512_shuffle_i64x2(t[k + j], t[k + j + 2], 0x88);
      s[k + j + 2] = _mm512_shuffle_i64x2(t[k + j], t[k + j + 2], 0xDD);
    }
#pragma GCC unroll 8
  for (int j = 0; j < 4; ++j) {
    v[j] = _mm512_shuffle_i64x2(s[j], s[j + 4], 0x88);
    v[j + 4] = _mm512_shuffle_i64x2(s[j], s[j + 4], 0xDD);
  }
}

// Stages h = 4, 2, 1 of chunk c, transposed (u[l] lane r = element 64c + 8r + l). Twiddle rows
// in the permuted tables: h = 4 at n/8 + 8c, h = 2 at n/4 + 16c (rows for l>>2 = 0, 1), h = 1
// at n/2 + 32c (rows for l>>1 = 0..3).
template <bool kWithH1 = true>
CIPHERLORA_IFMA_INLINE void forward_lanes(V* u, const NttTables& t, int64_t c, const Mod& md) {
  const int64_t n = t.n;
  const uint64_t* w = t.fwd.data();
  const uint64_t* wq = t.fwd_quot.data();
  const int64_t o4 = n / 8 + 8 * c, o2 = n / 4 + 16 * c, o1 = n / 2 + 32 * c;
  const V w4 = load(w + o4), q4 = load(wq + o4);
#pragma GCC unroll 8
  for (int l = 0; l < 4; ++l) fwd_bfly(u[l], u[l + 4], w4, q4, md);
#pragma GCC unroll 8
  for (int g = 0; g < 2; ++g) {
    const V w2 = load(w + o2 + 8 * g), q2 = load(wq + o2 + 8 * g);
    fwd_bfly(u[4 * g], u[4 * g + 2], w2, q2, md);
    fwd_bfly(u[4 * g + 1], u[4 * g + 3], w2, q2, md);
  }
  if constexpr (kWithH1) {
#pragma GCC unroll 8
    for (int g = 0; g < 4; ++g)
      fwd_bfly(u[2 * g], u[2 * g + 1], load(w + o1 + 8 * g), load(wq + o1 + 8 * g), md);
  }
}

template <bool kWithH1 = true>
CIPHERLORA_IFMA_INLINE void inverse_lanes(V* u, const NttTables& t, int64_t c, const Mod& md) {
  const int64_t n = t.n;
  const uint64_t* w = t.inv.data();
  const uint64_t* wq = t.inv_quot.data();
  const int64_t o4 = n / 8 + 8 * c, o2 = n / 4 + 16 * c, o1 = n / 2 + 32 * c;
  if constexpr (kWithH1) {
#pragma GCC unroll 8
    for (int g = 0; g < 4; ++g)
      inv_bfly(u[2 * g], u[2 * g + 1], load(w + o1 + 8 * g), load(wq + o1 + 8 * g), md);
  }
#pragma GCC unroll 8
  for (int g = 0; g < 2; ++g) {
    const V w2 = load(w + o2 + 8 * g), q2 = load(wq + o2 + 8 * g);
    inv_bfly(u[4 * g], u[4 * g + 2], w2, q2, md);
    inv_bfly(u[4 * g + 1], u[4 * g + 3], w2, q2, md);
  }
  const V w4 = load(w + o4), q4 = load(wq + o4);
#pragma GCC unroll 8
  for (int l = 0; l < 4; ++l) inv_bfly(u[l], u[l + 4], w4, q4, md);
}

// The ring product's forward stage h = 1, pointwise product and inverse stage h = 1 in one linear
// map per element pair (x, y) = (u[2g], u[2g+1]) lane r: x' = A·x + B·y, y' = C·x + D·y with
// A = s0 + s1, B = (s0 - s1)·w, C = w'·(s0 - s1), D = w'·(s0 + s1)·w (w, w' the two stages'
// twiddles, s0, s1 the multiplicand; ifma_prepare_multiplicand). The four Shoup products are
// summed before the one 52-bit mask: each is in [0, 2p), so the sum is below 4p < 2^52. Saves
// a third of the operations of the three steps. m: the rows A, A quot, B, B quot (or C ... D).
CIPHERLORA_IFMA_INLINE V mul_add2(V x, V y, const uint64_t* m, const Mod& md) {
  const V zero = _mm512_setzero_si512();
  const V qx = _mm512_madd52hi_epu64(zero, load(m + 8), x);
  const V qy = _mm512_madd52hi_epu64(zero, load(m + 24), y);
  V r = _mm512_madd52lo_epu64(zero, load(m), x);
  r = _mm512_madd52lo_epu64(r, qx, md.neg_p);
  r = _mm512_madd52lo_epu64(r, load(m + 16), y);
  r = _mm512_madd52lo_epu64(r, qy, md.neg_p);
  return reduce(_mm512_and_si512(r, md.mask52), md.p2);  // [0, 4p) -> [0, 2p)
}

// m: chunk c's 4 pairs × 64 words (A, A quot, B, B quot, C, C quot, D, D quot; 8 lanes each).
CIPHERLORA_IFMA_INLINE void multiply_h1(V* u, const uint64_t* m, const Mod& md) {
#pragma GCC unroll 8
  for (int g = 0; g < 4; ++g) {
    const V x = u[2 * g], y = u[2 * g + 1];
    u[2 * g] = mul_add2(x, y, m + 64 * g, md);
    u[2 * g + 1] = mul_add2(x, y, m + 64 * g + 32, md);
  }
}

// Stages h = 32, 16, 8 of chunk c pair its whole vectors: a 3-stage block of group c in the stage
// with n/64 groups.
CIPHERLORA_IFMA_INLINE void forward_chunk_vectors(V* u, const NttTables& t, int64_t c,
                                                  const Mod& md) {
  forward_block<3>(u, t.fwd.data(), t.fwd_quot.data(), t.n / 64 + c, md);
}

CIPHERLORA_IFMA_INLINE void inverse_chunk_vectors(V* u, const NttTables& t, int64_t c,
                                                  const Mod& md) {
  inverse_block<3>(u, t, t.n / 64 + c, md);
}

// ---- the ring product's input: log_q-bit two's complement -> [0, 4p) ----------------------------

struct SignedInput {
  const uint64_t* a;
  __m128i shift, shift_hi;  // 64 - log_q, 96 - log_q
  V p;
  V pow32, pow32_quot;  // 2^32 mod p and its Shoup quotient
  V offset;             // p - 2^63 mod p
  V low32;              // 2^32 - 1
};

// x = a's low log_q bits sign-extended. Narrow (2^(log_q-1) <= p): x + p is in [0, 2p). Wide:
// x = h·2^32 + l with h signed (|h| <= 2^31) and l in [0, 2^32) (then log_q >= 34 and l < p), and
// x ≡ (h + 2^31)·2^32 + l - 2^63: one Shoup product by 2^32 mod p of the non-negative h + 2^31,
// plus l, plus p - 2^63 mod p, lands in [0, 4p).
template <bool kWide>
struct SignedLoad {
  static constexpr bool kBelow2p = !kWide;
  const SignedInput& in;
  const Mod& md;
  CIPHERLORA_IFMA_INLINE V operator()(int64_t at) const {
    const V a = _mm512_sll_epi64(load(in.a + at), in.shift);
    if constexpr (!kWide) {
      return _mm512_add_epi64(_mm512_sra_epi64(a, in.shift), in.p);
    } else {
      const V h = _mm512_add_epi64(_mm512_sra_epi64(a, in.shift_hi), bcast(uint64_t{1} << 31));
      const V r = _mm512_add_epi64(mul_shoup(h, in.pow32, in.pow32_quot, md),
                                   _mm512_and_si512(_mm512_srl_epi64(a, in.shift), in.low32));
      return _mm512_add_epi64(r, in.offset);
    }
  }
};

// Within each chunk of 8·rows entries of table[base, base + count), moves entry rows·r + g to
// 8g + r: the twiddles of stage h = 2 (rows = 2) or h = 1 (rows = 4) become rows of 8 lanes.
void permute_segment(AlignedWords& table, int64_t base, int64_t count, int rows) {
  std::vector<uint64_t> old(table.data() + base, table.data() + base + count);
  const int64_t chunk = 8 * rows;
  for (int64_t c = 0; c < count / chunk; ++c)
#pragma GCC unroll 8
    for (int g = 0; g < rows; ++g)
#pragma GCC unroll 8
      for (int r = 0; r < 8; ++r)
        table[base + chunk * c + 8 * g + r] = old[chunk * c + rows * r + g];
}

// ---- the CRT lift (he/ntt_kernels.h), alone or as the product's last store ----------------------

struct LiftConstants {
  V mask, p1, half1;  // one prime
  Mod m2;             // two primes: p2 ...
  V half2, inv, inv_quot, product;

  CIPHERLORA_IFMA LiftConstants(const CrtLift& lift, int log_q)
      : mask(bcast(log_q == 64 ? ~uint64_t{0} : (uint64_t{1} << log_q) - 1)),
        p1(bcast(lift.p1)),
        half1(bcast(lift.p1 / 2)),
        m2(make_mod(lift.p2)),
        half2(bcast(lift.p2 / 2)),
        inv(bcast(lift.p1_inv)),
        inv_quot(bcast(lift.p1_inv_quot)),
        product(bcast(lift.product)) {}

  // r in [0, p1): the centered value mod 2^log_q.
  CIPHERLORA_IFMA_INLINE V one(V r) const {
    const V c = _mm512_mask_sub_epi64(r, _mm512_cmpgt_epu64_mask(r, half1), r, p1);
    return _mm512_and_si512(c, mask);
  }

  // a in [0, p1), b in [0, 2p2): Garner's c = a + p1·v, v = (b - a)·p1^-1 mod p2, centered.
  CIPHERLORA_IFMA_INLINE V two(V a, V b) const {
    const V d = _mm512_sub_epi64(_mm512_add_epi64(b, m2.p2), a);  // (0, 4p2): a < p1 < 2p2
    const V v = reduce(mul_shoup(d, inv, inv_quot, m2), m2.p);
    // c exceeds (P-1)/2 = p1·half2 + half1 exactly when (v, a) > (half2, half1).
    const __mmask8 negative =
        _mm512_cmpgt_epu64_mask(v, half2) |
        _mm512_mask_cmpgt_epu64_mask(_mm512_cmpeq_epu64_mask(v, half2), a, half1);
    V c = _mm512_add_epi64(a, _mm512_mullo_epi64(p1, v));
    c = _mm512_mask_sub_epi64(c, negative, c, product);
    return _mm512_and_si512(c, mask);
  }
};

// The last inverse pass's stores of a one-prime product ([0, 2p) -> lifted to out) and of the
// second prime of a two-prime one (combined with the first prime's residues r1; two() takes the
// second residue unreduced).
struct LiftStore1 {
  uint64_t* out;
  V p;
  const LiftConstants& c;
  CIPHERLORA_IFMA_INLINE void operator()(int64_t at, V v) const {
    store(out + at, c.one(reduce(v, p)));
  }
};
struct LiftStore2 {
  uint64_t* out;
  const uint64_t* r1;
  const LiftConstants& c;
  CIPHERLORA_IFMA_INLINE void operator()(int64_t at, V v) const {
    store(out + at, c.two(load(r1 + at), v));
  }
};

// The chunk stages (h = 32 ... 1) of kChunks consecutive chunks from c0, from src to dst (which
// may be the same): of the forward transform (output reduced to [0, p)), of the inverse, or of the
// ring product (forward, pointwise product by mult while transposed, inverse). The product also
// splits in two: kToH1 stops before the pointwise step and stores the chunks still transposed
// (a transformed operand), kFromH1 starts from such chunks. Step by step across the chunks so that
// their independent work overlaps: one chunk alone is a long chain of dependent stages.
enum class Middle { kForward, kInverse, kProduct, kToH1, kFromH1 };

template <Middle kMode, int kChunks = 2>
CIPHERLORA_IFMA_INLINE void middle_chunks(const NttTables& t, const uint64_t* mult,
                                          const uint64_t* src, uint64_t* dst, int64_t c0,
                                          const Mod& md) {
  constexpr bool kForwardPart =
      kMode == Middle::kForward || kMode == Middle::kProduct || kMode == Middle::kToH1;
  constexpr bool kMultiplies = kMode == Middle::kProduct || kMode == Middle::kFromH1;
  constexpr bool kInversePart = kMode == Middle::kInverse || kMultiplies;
  V u[kChunks][8];
#pragma GCC unroll 8
  for (int i = 0; i < kChunks; ++i)
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) u[i][r] = load(src + 64 * (c0 + i) + 8 * r);
  if constexpr (kForwardPart) {
#pragma GCC unroll 8
    for (int i = 0; i < kChunks; ++i) forward_chunk_vectors(u[i], t, c0 + i, md);
  }
  if constexpr (kMode != Middle::kFromH1) {  // a transformed operand is stored transposed
#pragma GCC unroll 8
    for (int i = 0; i < kChunks; ++i) transpose8(u[i]);
  }
  if constexpr (kForwardPart) {
#pragma GCC unroll 8
    for (int i = 0; i < kChunks; ++i) forward_lanes<kMode == Middle::kForward>(u[i], t, c0 + i, md);
  }
  if constexpr (kMode == Middle::kToH1) {
#pragma GCC unroll 8
    for (int i = 0; i < kChunks; ++i)
#pragma GCC unroll 8
      for (int r = 0; r < 8; ++r) store(dst + 64 * (c0 + i) + 8 * r, u[i][r]);
    return;
  }
  if constexpr (kMultiplies) {
#pragma GCC unroll 8
    for (int i = 0; i < kChunks; ++i) multiply_h1(u[i], mult + 256 * (c0 + i), md);
  }
  if constexpr (kInversePart) {
#pragma GCC unroll 8
    for (int i = 0; i < kChunks; ++i) inverse_lanes<!kMultiplies>(u[i], t, c0 + i, md);
  }
#pragma GCC unroll 8
  for (int i = 0; i < kChunks; ++i) transpose8(u[i]);
  if constexpr (kInversePart) {
#pragma GCC unroll 8
    for (int i = 0; i < kChunks; ++i) inverse_chunk_vectors(u[i], t, c0 + i, md);
  }
#pragma GCC unroll 8
  for (int i = 0; i < kChunks; ++i)
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) {
      const V v = kMode == Middle::kForward ? reduce(reduce(u[i][r], md.p2), md.p) : u[i][r];
      store(dst + 64 * (c0 + i) + 8 * r, v);
    }
}

// The top forward passes of the product's operand a (log_q-bit two's complement) into work.
CIPHERLORA_IFMA_INLINE void operand_top(const NttTables& t, const uint64_t* a, int log_q,
                                        uint64_t* work, const Mod& md) {
  assert(t.p > (uint64_t{1} << 32) && t.p < (uint64_t{1} << 50));
  const SignedInput in{a,
                       _mm_cvtsi32_si128(64 - log_q),
                       _mm_cvtsi32_si128(96 - log_q),
                       md.p,
                       bcast(t.pow32),
                       bcast(t.pow32_quot),
                       bcast(t.p - t.pow63),
                       bcast((uint64_t{1} << 32) - 1)};
  if (log_q - 1 >= 63 || (uint64_t{1} << (log_q - 1)) > t.p)
    forward_top(t, SignedLoad<true>{in, md}, work, md);
  else
    forward_top(t, SignedLoad<false>{in, md}, work, md);
}

// a·b mod (x^n + 1, p) with a's log_q-bit two's complement input: the top forward passes (the
// first converting a), then per chunk one load and store for the chunk's forward stages, the
// pointwise product (while transposed) and its inverse stages, then the top inverse passes, the
// last storing through `last`. work: [n].
template <class Store>
CIPHERLORA_IFMA_INLINE void product(const NttTables& t, const uint64_t* a, int log_q,
                                    const uint64_t* mult, uint64_t* work, Store last) {
  const Mod md = make_mod(t.p);
  operand_top(t, a, log_q, work, md);
  for (int64_t c = 0; c < t.n / 64; c += 2)
    middle_chunks<Middle::kProduct>(t, mult, work, work, c, md);
  inverse_top<false>(t, work, last, md);
}

// The same product from a's transformed form tr (ifma_transform_operand).
template <class Store>
CIPHERLORA_IFMA_INLINE void product_transformed(const NttTables& t, const uint64_t* tr,
                                                const uint64_t* mult, uint64_t* work, Store last) {
  const Mod md = make_mod(t.p);
  // tr usually streams from memory (a cached operand per column): fetch 4 chunks ahead.
  for (int64_t c = 0; c < t.n / 64; c += 2) {
    for (int64_t w = 64 * (c + 4); w < std::min(64 * (c + 6), t.n); w += 8)
      _mm_prefetch(reinterpret_cast<const char*>(tr + w), _MM_HINT_T0);
    middle_chunks<Middle::kFromH1>(t, mult, tr, work, c, md);
  }
  inverse_top<false>(t, work, last, md);
}

}  // namespace

// ---- entry points -------------------------------------------------------------------------------

// Entry n/4 + 16c + 2r + g (stage h = 2, element 64c + 8r + l with g = l>>2) moves to
// n/4 + 16c + 8g + r; entry n/2 + 32c + 4r + g (h = 1, g = l>>1) to n/2 + 32c + 8g + r. The
// h = 4 entries n/8 + 8c + r are already in order.
void ifma_permute_tables(NttTables& t) {
  for (AlignedWords* table : {&t.fwd, &t.fwd_quot, &t.inv, &t.inv_quot}) {
    permute_segment(*table, t.n / 4, t.n / 4, 2);
    permute_segment(*table, t.n / 2, t.n / 2, 4);
  }
}

// The multiplicand b [n] for multiply_h1(): per chunk c, pair g (elements e, e + 1 of the
// bit-reversed order, e = 64c + 8r + 2g in lane r) and s0, s1 = b[e]/N, b[e+1]/N, the rows
// A, B, C, D and their Shoup quotients at 256c + 64g + 16k (+ 8 for the quotient) + r.
void ifma_prepare_multiplicand(const NttTables& t, const uint64_t* b, uint64_t* mult) {
  const uint64_t p = t.p;
  for (int64_t c = 0; c < t.n / 64; ++c)
    for (int g = 0; g < 4; ++g)
      for (int r = 0; r < 8; ++r) {
        const int64_t e = 64 * c + 8 * r + 2 * g, tw = t.n / 2 + 32 * c + 8 * g + r;
        const uint64_t s0 = mul_mod(b[e], t.n_inv, p), s1 = mul_mod(b[e + 1], t.n_inv, p);
        const uint64_t sum = (s0 + s1) % p, diff = (s0 + p - s1) % p;
        const uint64_t w = t.fwd[tw], w_inv = t.inv[tw];  // stage h = 1, group e/2
        const uint64_t rows[4] = {sum, mul_mod(diff, w, p), mul_mod(w_inv, diff, p),
                                  mul_mod(mul_mod(w_inv, sum, p), w, p)};
        for (int k = 0; k < 4; ++k) {
          mult[256 * c + 64 * g + 16 * k + r] = rows[k];
          mult[256 * c + 64 * g + 16 * k + 8 + r] = shoup_quotient(rows[k], p, 52);
        }
      }
}

CIPHERLORA_IFMA void ifma_forward(const NttTables& t, uint64_t* a) {
  const Mod md = make_mod(t.p);
  forward_top(t, InputLoad{a}, a, md);
  for (int64_t c = 0; c < t.n / 64; c += 2)
    middle_chunks<Middle::kForward>(t, nullptr, a, a, c, md);
}

CIPHERLORA_IFMA void ifma_inverse(const NttTables& t, uint64_t* a) {
  const Mod md = make_mod(t.p);
  for (int64_t c = 0; c < t.n / 64; c += 2)
    middle_chunks<Middle::kInverse>(t, nullptr, a, a, c, md);
  inverse_top<true>(t, a, ReducingStore{a, md.p}, md);
}

CIPHERLORA_IFMA void ifma_product_residues(const NttTables& t, const uint64_t* a, int log_q,
                                           const uint64_t* mult, uint64_t* res) {
  product(t, a, log_q, mult, res, ReducingStore{res, bcast(t.p)});
}

CIPHERLORA_IFMA void ifma_lift_centered(const CrtLift& lift, const uint64_t* r1, const uint64_t* r2,
                                        int64_t n, int log_q, uint64_t* out) {
  assert(n % 8 == 0);
  const LiftConstants c(lift, log_q);
  for (int64_t i = 0; i < n; i += 8)
    store(out + i, lift.primes == 1 ? c.one(load(r1 + i)) : c.two(load(r1 + i), load(r2 + i)));
}

CIPHERLORA_IFMA void ifma_product_lifted(const NttTables& t, const uint64_t* a, int log_q,
                                         const uint64_t* mult, const CrtLift& lift,
                                         const uint64_t* r1, uint64_t* work, uint64_t* out) {
  const LiftConstants c(lift, log_q);
  if (lift.primes == 1)
    product<LiftStore1>(t, a, log_q, mult, work, LiftStore1{out, bcast(t.p), c});
  else
    product<LiftStore2>(t, a, log_q, mult, work, LiftStore2{out, r1, c});
}

CIPHERLORA_IFMA void ifma_transform_operand(const NttTables& t, const uint64_t* a, int log_q,
                                            uint64_t* tr) {
  const Mod md = make_mod(t.p);
  operand_top(t, a, log_q, tr, md);
  for (int64_t c = 0; c < t.n / 64; c += 2) middle_chunks<Middle::kToH1>(t, nullptr, tr, tr, c, md);
}

CIPHERLORA_IFMA void ifma_product_residues_transformed(const NttTables& t, const uint64_t* tr,
                                                       const uint64_t* mult, uint64_t* res) {
  product_transformed(t, tr, mult, res, ReducingStore{res, bcast(t.p)});
}

CIPHERLORA_IFMA void ifma_product_lifted_transformed(const NttTables& t, const uint64_t* tr,
                                                     int log_q, const uint64_t* mult,
                                                     const CrtLift& lift, const uint64_t* r1,
                                                     uint64_t* work, uint64_t* out) {
  const LiftConstants c(lift, log_q);
  if (lift.primes == 1)
    product_transformed<LiftStore1>(t, tr, mult, work, LiftStore1{out, bcast(t.p), c});
  else
    product_transformed<LiftStore2>(t, tr, mult, work, LiftStore2{out, r1, c});
}

}  // namespace cipherlora
