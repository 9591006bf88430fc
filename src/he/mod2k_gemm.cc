#include "he/mod2k_gemm.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <cassert>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "common/aligned_allocator.h"
#include "common/error.h"
#include "tensor/threads.h"
#include "tensor/vector_clones.h"

namespace cipherlora {
namespace {

// Each int8 GEMM is C = W'·D: W' = op(W)ᵀ + 128 as u8 [m, K] (made once, in Mod2kWeights) and
// D = the coefficient bytes minus 128 as s8 [K, columns], one column per (input, byte,
// coefficient). With the bytes as the GEMM's second operand they are written along N as they
// come, without a transposition, and oneDNN reads them in place in its VNNI layout; the rows of
// C are output features, so out[c][j][:] is written contiguously. Shifting both operands into
// range costs two cheap corrections (see combine). All coefficients of a block and all their
// bytes are columns of one GEMM, so W' is streamed once per block.
//
// Products reach 255·128 in magnitude, so an int32 sum of K of them is exact while
// K <= (2^31 - 1) / (255·128) = 65793 (kMaxExactK assumes |s8| <= 127; W may hold -128).
constexpr int64_t kMaxChunkK = ((int64_t{1} << 31) - 1) / (255 * 128);
constexpr uint32_t kFlip32 = 0x80808080;           // xor: four bytes u -> u - 128 as s8
constexpr uint64_t kPadWord = 0x8080808080808080;  // a coefficient whose bytes all become 0
constexpr int64_t kGroup = 64;                     // coefficients per column group

// Working-set targets per thread: D (count·L·nb columns × K rows of bytes) about three quarters of
// a 2 MB L2, and the int32 GEMM result C (mb rows × those columns) an eighth of it, so that the
// GEMM streams W' past a D that stays in L2 and the combination reads C from cache. On the 2-core
// Sapphire Rapids (AMX) these budgets took 2048x4096x4096 from 210-225 ms to 150-175 ms against
// 4 MB and 512 KB (both with D on huge pages); on a 2-core Zen 4 halving or doubling either had
// moved the timings by less than their run-to-run noise.
constexpr int64_t kDBudget = 1536 << 10;
constexpr int64_t kCBudget = 256 << 10;
constexpr int64_t kMaxBlockN = 256;  // wider blocks gained nothing and leave fewer for the threads

int64_t round_up(int64_t x, int64_t to) {
  return (x + to - 1) / to * to;
}

// One GEMM's worth of work: coefficients [n0, n0 + nb) of every input, rows [k0, k0 + kc).
// Columns of D are (c, l, i): input c, byte l, coefficient n0 + i, i < nbp (nb rounded up to a
// group; the padding columns hold 0).
struct Block {
  int count, L;
  int64_t N, n0, nb, nbp;
  int64_t k0, kc, kcp;  // kcp: kc padded for the blocked layout (padding rows hold 0)
  int64_t cols() const { return count * L * nbp; }
};

// oneDNN's VNNI layout of D [kcp, cols] (format tag BA16a64b4a; K padded to 64): blocks of 64
// rows × 64 columns, inside each [k / 4][column][k % 4], so that a 32-bit lane holds the 4 bytes
// one vpdpbusd sums. In 32-bit words, column group g of byte l of input c starts at
// ((c·L + l)·nbp/64 + g)·kcp·16, and rows k..k+3 (k % 4 == 0) of its 64 columns are the 64 words
// from there + (k / 4)·64.

// dst[l·limb_stride + i] = byte l of r0[i], r1[i], r2[i], r3[i], each minus 128, for l < L and
// i < 64; sum[i] += r0[i] + r1[i] + r2[i] + r3[i].
CIPHERLORA_VECTOR_CLONES void pack_quad(const uint64_t* r0, const uint64_t* r1, const uint64_t* r2,
                                        const uint64_t* r3, int L, int64_t limb_stride,
                                        uint32_t* dst, uint64_t* sum) {
  for (int i = 0; i < kGroup; ++i) sum[i] += r0[i] + r1[i] + r2[i] + r3[i];
  for (int l = 0; l < L; ++l) {
    const int s = 8 * l;
    uint32_t* d = dst + l * limb_stride;
    for (int i = 0; i < kGroup; ++i)
      d[i] = (static_cast<uint32_t>((r0[i] >> s) & 0xff) |
              static_cast<uint32_t>((r1[i] >> s) & 0xff) << 8 |
              static_cast<uint32_t>((r2[i] >> s) & 0xff) << 16 |
              static_cast<uint32_t>((r3[i] >> s) & 0xff) << 24) ^
             kFlip32;
  }
}

// dst[l·limb_stride + i] = byte l of r[i] minus 128, for l < L and i < 64; sum[i] += r[i].
CIPHERLORA_VECTOR_CLONES void pack_row(const uint64_t* r, int L, int64_t limb_stride, uint8_t* dst,
                                       uint64_t* sum) {
  for (int i = 0; i < kGroup; ++i) sum[i] += r[i];
  for (int l = 0; l < L; ++l) {
    const int s = 8 * l;
    uint8_t* d = dst + l * limb_stride;
    for (int i = 0; i < kGroup; ++i) d[i] = static_cast<uint8_t>(r[i] >> s) ^ 0x80;
  }
}

// Writes input c's part of D for block b (blocked or plain layout), and sum[i] = Σ_k in_c[k0 + k]
// [n0 + i] over the block's rows (mod 2^64) for i < nb, the second correction term. Rows are read
// a whole block wide, for the hardware prefetcher.
void extract(const Block& b, const uint64_t* in_c, bool blocked, int c, uint32_t* D,
             uint64_t* sum) {
  const int64_t groups = b.nbp / kGroup;
  std::fill(sum, sum + b.nbp, 0);
  // Row k of group g, 64 wide; columns past nb and rows past kc read as kPadWord (bytes 0 in D).
  auto row = [&](int64_t k, int64_t g, uint64_t* tmp) -> const uint64_t* {
    const int64_t width = k < b.kc ? std::clamp(b.nb - g * kGroup, int64_t{0}, kGroup) : 0;
    const uint64_t* r = width > 0 ? in_c + (b.k0 + k) * b.N + b.n0 + g * kGroup : nullptr;
    if (width == kGroup) return r;
    std::copy(r, r + width, tmp);
    std::fill(tmp + width, tmp + kGroup, kPadWord);
    return tmp;
  };
  uint64_t tmp[4][kGroup];
  if (blocked) {
    const int64_t limb_stride = groups * b.kcp * 16;
    uint32_t* base = D + c * b.L * limb_stride;
    for (int64_t k = 0; k < b.kcp; k += 4)
      for (int64_t g = 0; g < groups; ++g)
        pack_quad(row(k, g, tmp[0]), row(k + 1, g, tmp[1]), row(k + 2, g, tmp[2]),
                  row(k + 3, g, tmp[3]), b.L, limb_stride, base + g * b.kcp * 16 + k / 4 * kGroup,
                  sum + g * kGroup);
    // The padding rows entered the sums as kPadWord each.
    const uint64_t pad = static_cast<uint64_t>(b.kcp - b.kc) * kPadWord;
    for (int64_t i = 0; i < b.nbp; ++i) sum[i] -= pad;
  } else {
    uint8_t* base = reinterpret_cast<uint8_t*>(D) + c * b.L * b.nbp;
    for (int64_t k = 0; k < b.kc; ++k)
      for (int64_t g = 0; g < groups; ++g)
        pack_row(row(k, g, tmp[0]), b.L, b.nbp, base + k * b.cols() + g * kGroup, sum + g * kGroup);
  }
}

// o[i] = (o[i] if accumulate) + corr - 128·s[i] + Σ_l C[l·limb_stride + i]·2^(8l), masked, for
// i < width. L is a template argument so that the limb loop unrolls inside the vectorized i loop.
template <int L>
inline void combine_span(const int32_t* C, int64_t limb_stride, const uint64_t* s, uint64_t corr,
                         uint64_t mask, bool accumulate, int64_t width, uint64_t* o) {
  for (int64_t i = 0; i < width; ++i) {
    uint64_t acc = corr - (s[i] << 7);
    for (int l = 0; l < L; ++l)
      acc += static_cast<uint64_t>(static_cast<int64_t>(C[l * limb_stride + i])) << (8 * l);
    o[i] = ((accumulate ? o[i] : 0) + acc) & mask;
  }
}

CIPHERLORA_VECTOR_CLONES void combine_span(int L, const int32_t* C, int64_t limb_stride,
                                           const uint64_t* s, uint64_t corr, uint64_t mask,
                                           bool accumulate, int64_t width, uint64_t* o) {
  switch (L) {
    case 1:
      return combine_span<1>(C, limb_stride, s, corr, mask, accumulate, width, o);
    case 2:
      return combine_span<2>(C, limb_stride, s, corr, mask, accumulate, width, o);
    case 3:
      return combine_span<3>(C, limb_stride, s, corr, mask, accumulate, width, o);
    case 4:
      return combine_span<4>(C, limb_stride, s, corr, mask, accumulate, width, o);
    case 5:
      return combine_span<5>(C, limb_stride, s, corr, mask, accumulate, width, o);
    case 6:
      return combine_span<6>(C, limb_stride, s, corr, mask, accumulate, width, o);
    case 7:
      return combine_span<7>(C, limb_stride, s, corr, mask, accumulate, width, o);
    default:
      return combine_span<8>(C, limb_stride, s, corr, mask, accumulate, width, o);
  }
}

// C_l = Σ_k (W + 128)(a_l - 128) = Σ_k W·a_l + 128·Σ_k a_l - 128·S_W - 128²·kc, with S_W = Σ_k W
// and a_l byte l of a. Weighted by 2^(8l) and summed over l < L (8L >= log_q bits, so the bytes
// rebuild a mod 2^log_q): Σ_l 2^(8l)·C_l = Σ_k W·a + 128·Σ_k a - 128·R·(S_W + 128·kc) with
// R = Σ_l 2^(8l). Hence out = Σ_l 2^(8l)·C_l - 128·sums + 128·R·(S_W + 128·kc), mod 2^log_q,
// all in uint64 wraparound. Rows j0.. of C are output features; the corrections come per chunk.
void combine(const Block& b, const int32_t* C, int64_t j0, int64_t rows, const uint64_t* sums,
             const int64_t* w_sum, int log_q, bool accumulate, uint64_t* const* out) {
  const uint64_t mask = log_q == 64 ? ~uint64_t{0} : (uint64_t{1} << log_q) - 1;
  uint64_t R = 0;
  for (int l = 0; l < b.L; ++l) R += uint64_t{1} << (8 * l);
  const int64_t cols = b.cols();
  for (int64_t j = 0; j < rows; ++j) {
    const uint64_t corr =
        128 * R * (static_cast<uint64_t>(w_sum[j0 + j]) + 128 * static_cast<uint64_t>(b.kc));
    for (int c = 0; c < b.count; ++c)
      combine_span(b.L, C + j * cols + c * b.L * b.nbp, b.nbp, sums + c * b.nbp, corr, mask,
                   accumulate, b.nb, out[c] + (j0 + j) * b.N + b.n0);
  }
}

// ---- the GEMM: C[rows, cols] = W'[rows, kc] · D[kc, cols] ---------------------------------------

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// One thread's int8 GEMMs. oneDNN primitives are kept per shape (a call needs a few: full and
// tail blocks); called inside a parallel region, oneDNN runs on the calling thread.
class Int8Gemm {
 public:
  // rows: the usual row count, for which oneDNN chooses D's layout.
  Int8Gemm(Int8Kernel kernel, int64_t rows) : kernel_(kernel), rows_(rows) {}

  // Whether D [kc, cols] is written in oneDNN's VNNI-blocked layout (BA16a64b4a), which the
  // GEMM then reads in place, and its padded row count; else D is plain row-major [kc, cols].
  bool blocked(int64_t kc, int64_t cols) {
    return kernel_ == Int8Kernel::kOneDnn && layout(kc, cols).blocked;
  }
  int64_t padded_rows(int64_t kc, int64_t cols) {
    return blocked(kc, cols) ? layout(kc, cols).d_md.data.padded_dims[0] : kc;
  }

  // C[rows, cols] = A[rows, kc] · D[kc, cols], all dense; D holds s8 bytes.
  void run(int64_t rows, int64_t kc, int64_t cols, const uint8_t* A, const uint32_t* D,
           int32_t* C) {
    if (kernel_ == Int8Kernel::kPortable) {
      gemm_u8s8s32(kernel_, rows, cols, kc, A, kc, reinterpret_cast<const int8_t*>(D), cols,
                   /*trans_b=*/false, C, cols);
      return;
    }
    try {
      const Primitive& p = primitive(rows, kc, cols);
      const dnnl::engine& engine = cpu_engine();
      dnnl::memory a(p.pd.src_desc(), engine, const_cast<uint8_t*>(A));
      dnnl::memory d(p.pd.weights_desc(), engine, const_cast<uint32_t*>(D));
      dnnl::memory c(p.pd.dst_desc(), engine, C);
      p.matmul.execute(stream_, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, d}, {DNNL_ARG_DST, c}});
      stream_.wait();
    } catch (const dnnl::error& e) {
      throw Error("mod2k products: oneDNN matmul failed for " + std::to_string(rows) + "x" +
                  std::to_string(kc) + "x" + std::to_string(cols) + ": " + e.what());
    }
  }

 private:
  struct Layout {
    int64_t kc, cols;
    bool blocked;
    dnnl::memory::desc d_md;
  };
  struct Primitive {
    int64_t rows, kc, cols;
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul matmul;
  };

  dnnl::matmul::primitive_desc make(int64_t rows, int64_t kc, int64_t cols,
                                    const dnnl::memory::desc& d_md) const {
    const dnnl::memory::desc a_md({rows, kc}, dnnl::memory::data_type::u8,
                                  dnnl::memory::format_tag::ab);
    const dnnl::memory::desc c_md({rows, cols}, dnnl::memory::data_type::s32,
                                  dnnl::memory::format_tag::ab);
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, d_md, c_md), cpu_engine());
  }

  // D's layout for (kc, cols): oneDNN's choice (format_tag::any) for the usual row count when it
  // is the blocked one, else plain; then fixed for every row count, since D is written once.
  const Layout& layout(int64_t kc, int64_t cols) {
    for (const Layout& l : layouts_)
      if (l.kc == kc && l.cols == cols) return l;
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    const dnnl::memory::desc blocked_md({kc, cols}, dt::s8, tag::BA16a64b4a);
    bool blocked = false;
    try {
      blocked =
          make(rows_, kc, cols, dnnl::memory::desc({kc, cols}, dt::s8, tag::any)).weights_desc() ==
          blocked_md;
    } catch (const dnnl::error& e) {
      throw Error(std::string("mod2k products: oneDNN matmul setup failed: ") + e.what());
    }
    layouts_.push_back({kc, cols, blocked,
                        blocked ? blocked_md : dnnl::memory::desc({kc, cols}, dt::s8, tag::ab)});
    return layouts_.back();
  }

  const Primitive& primitive(int64_t rows, int64_t kc, int64_t cols) {
    for (const Primitive& p : primitives_)
      if (p.rows == rows && p.kc == kc && p.cols == cols) return p;
    const auto pd = make(rows, kc, cols, layout(kc, cols).d_md);
    primitives_.push_back({rows, kc, cols, pd, dnnl::matmul(pd)});
    return primitives_.back();
  }

  Int8Kernel kernel_;
  int64_t rows_;
  std::deque<Layout> layouts_;  // deques: references stay valid as entries are added
  std::deque<Primitive> primitives_;
  dnnl::stream stream_{cpu_engine()};
};

// One thread's buffers and GEMM primitives for a products() call. D and sums are left empty
// when the thread works on a shared D.
struct Scratch {
  Scratch(Int8Kernel kernel, int64_t rows, int64_t c_size, int64_t d_size, int64_t sums_size)
      : kernel(kernel),
        rows(rows),
        capacity{c_size, d_size, sums_size},
        gemm(kernel, rows),
        C(new int32_t[c_size]),
        D(d_size > 0 ? HugePageArray<uint32_t>(d_size / 4) : HugePageArray<uint32_t>()),
        sums(sums_size > 0 ? new uint64_t[sums_size] : nullptr) {}
  bool fits(Int8Kernel k, int64_t r, int64_t c_size, int64_t d_size, int64_t sums_size) const {
    return k == kernel && r == rows && c_size <= capacity[0] && d_size <= capacity[1] &&
           sums_size <= capacity[2];
  }
  Int8Kernel kernel;
  int64_t rows;                     // the GEMMs' usual row count (their layouts depend on it)
  std::array<int64_t, 3> capacity;  // of C, D (bytes) and sums
  Int8Gemm gemm;
  std::unique_ptr<int32_t[]> C;  // [mb, columns]
  // [K chunk, columns] s8 in either layout, on huge pages: the GEMM reads it in tiles once per
  // row block, and on 4 KB pages the worker took 1.3-1.7x longer (and varied run to run).
  HugePageArray<uint32_t> D;
  std::unique_ptr<uint64_t[]> sums;  // [count, nb]
};

// Scratch returned by finished products() calls, for the next call of any layer that fits in it.
// Allocated per call, these megabytes came back as fresh pages whenever malloc had returned them
// to the kernel, so the worker's time depended on the process's allocation history. One cache for
// the process, not one per layer: a model's hundreds of layers share a few entries per thread.
class ScratchCache {
 public:
  std::unique_ptr<Scratch> acquire(Int8Kernel kernel, int64_t rows, int64_t c_size, int64_t d_size,
                                   int64_t sums_size) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      for (auto it = free_.begin(); it != free_.end(); ++it)
        if ((*it)->fits(kernel, rows, c_size, d_size, sums_size)) {
          std::unique_ptr<Scratch> s = std::move(*it);
          free_.erase(it);
          return s;
        }
    }
    return std::make_unique<Scratch>(kernel, rows, c_size, d_size, sums_size);
  }
  void release(std::unique_ptr<Scratch> s) {
    if (!s) return;
    const std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(s));
    const size_t keep = 4 * static_cast<size_t>(std::max(1, num_threads()));
    if (free_.size() > keep) free_.erase(free_.begin());  // the least recently returned
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Scratch>> free_;
};

ScratchCache& scratch_cache() {
  static ScratchCache cache;
  return cache;
}

}  // namespace

Mod2kWeights::Mod2kWeights(Int8Kernel kernel, const int8_t* W, int64_t K, int64_t m, bool trans_w)
    : kernel_(kernel), K_(K), m_(m) {
  require(K > 0 && m > 0,
          "mod2k weights: bad shape K=" + std::to_string(K) + " m=" + std::to_string(m));
  require(kernel != Int8Kernel::kOneDnn || onednn_int8_exact(),
          "mod2k weights: oneDNN's u8 x s8 product is not exact on this CPU (no VNNI/AMX)");
  const int64_t chunks = (K + kMaxChunkK - 1) / kMaxChunkK;
  chunk_ = (K + chunks - 1) / chunks;
  w_.resize(m * K);
  w_sum_.assign(chunks * m, 0);
  // Chunk by chunk so that each GEMM's operand is dense (oneDNN's brgemm needs lda = K).
  for (int64_t k0 = 0; k0 < K; k0 += chunk_) {
    const int64_t kc = std::min(chunk_, K - k0);
    uint8_t* rows = w_.data() + m * k0;
    shifted_weight_rows(W, K, m, trans_w, k0, kc, rows);
    for (int64_t j = 0; j < m; ++j) {
      int64_t sum = 0;  // Σ_k (w + 128), less 128 per term
      for (int64_t k = 0; k < kc; ++k) sum += rows[j * kc + k];
      w_sum_[k0 / chunk_ * m + j] = sum - 128 * kc;
    }
  }
}

void shifted_weight_rows(const int8_t* W, int64_t K, int64_t m, bool trans_w, int64_t k0,
                         int64_t kc, uint8_t* dst) {
  if (trans_w) {  // W [m, K]: row j of W' is a stretch of row j of W
    for (int64_t j = 0; j < m; ++j)
      for (int64_t k = 0; k < kc; ++k)
        dst[j * kc + k] = static_cast<uint8_t>(W[j * K + k0 + k] + 128);
    return;
  }
  constexpr int64_t kBlock = 64;  // W [K, m] -> dst [m, kc]
  for (int64_t kb = 0; kb < kc; kb += kBlock)
    for (int64_t jb = 0; jb < m; jb += kBlock)
      for (int64_t k = kb; k < std::min(kb + kBlock, kc); ++k)
        for (int64_t j = jb; j < std::min(jb + kBlock, m); ++j)
          dst[j * kc + k] = static_cast<uint8_t>(W[(k0 + k) * m + j] + 128);
}

void Mod2kWeights::products(int count, const uint64_t* const* in, int64_t N, int log_q,
                            uint64_t* const* out) const {
  require(count >= 1, "mod2k products: count must be at least 1, got " + std::to_string(count));
  require(N > 0, "mod2k products: N must be positive, got " + std::to_string(N));
  require(log_q >= 1 && log_q <= 64,
          "mod2k products: log_q must be in 1..64, got " + std::to_string(log_q));
  const int L = (log_q + 7) / 8;
  const int64_t chunk = chunk_;

  // Blocks of nb coefficients (D: count·L·nb columns) by mb output rows (C: mb × columns).
  // Coefficient blocks run in parallel, each on one thread from bytes to output: no barrier, and
  // D and C stay in that core's cache. With fewer blocks than threads (small N), the row blocks of
  // each coefficient block run in parallel instead, on one shared D.
  int threads = omp_in_parallel() ? 1 : num_threads();
  const int64_t nb =
      std::min(std::clamp(kDBudget / (count * L * chunk) / kGroup * kGroup, kGroup, kMaxBlockN),
               round_up(N, kGroup));
  const int64_t n_blocks = (N + nb - 1) / nb;
  const bool by_coefficients = n_blocks >= threads;
  const int64_t cols_max = count * L * nb;
  int64_t mb = std::max<int64_t>(kCBudget / (cols_max * 4) / 16 * 16, 16);
  if (!by_coefficients) mb = std::min(mb, round_up((m_ + threads - 1) / threads, 16));
  mb = std::min(mb, m_);
  const int64_t m_blocks = (m_ + mb - 1) / mb;
  if (!by_coefficients) threads = static_cast<int>(std::min<int64_t>(threads, m_blocks));
  const int64_t d_size = round_up(chunk, 64) * cols_max;  // the blocked layout pads K to 64

  auto block_of = [&](int64_t nblk, int64_t k0) {
    Block b{count, L, N, nblk * nb, std::min(nb, N - nblk * nb), 0, k0, std::min(chunk, K_ - k0),
            0};
    b.nbp = round_up(b.nb, kGroup);
    b.kcp = b.kc;
    return b;
  };
  const HugePageArray<uint32_t> shared_D =
      by_coefficients ? HugePageArray<uint32_t>() : HugePageArray<uint32_t>(d_size / 4);
  std::unique_ptr<uint64_t[]> shared_sums(by_coefficients ? nullptr : new uint64_t[count * nb]);
  Block shared_block{};

  // Exceptions must not leave the parallel region, and every thread must reach every worksharing
  // construct: the first exception is kept, later work skipped, and it is rethrown after.
  std::exception_ptr error;
  auto guarded = [&error](auto&& work) {
    try {
      work();
    } catch (...) {
#pragma omp critical(mod2k_error)
      if (!error) error = std::current_exception();
    }
  };
#pragma omp parallel num_threads(threads)
  {
    std::unique_ptr<Scratch> s;
    guarded([&] {
      s = scratch_cache().acquire(kernel_, mb, mb * cols_max, by_coefficients ? d_size : 0,
                                  by_coefficients ? count * nb : 0);
    });
    uint32_t* D = by_coefficients ? (s ? s->D.get() : nullptr) : shared_D.get();
    uint64_t* sums = by_coefficients ? (s ? s->sums.get() : nullptr) : shared_sums.get();
    // D for block b, in the layout oneDNN reads in place when it has one (b.kcp set for it).
    auto extract_block = [&](Block& b) {
      const bool blocked = s->gemm.blocked(b.kc, b.cols());
      b.kcp = s->gemm.padded_rows(b.kc, b.cols());
      assert(b.kcp * b.cols() <= d_size);
      for (int c = 0; c < count; ++c) extract(b, in[c], blocked, c, D, sums + c * b.nbp);
    };
    // Output rows [j0, j0 + mb) of block b, from its D; chunks after the first accumulate.
    auto rows_of = [&](const Block& b, int64_t j0) {
      const int64_t rows = std::min(mb, m_ - j0);
      s->gemm.run(rows, b.kc, b.cols(), w_.data() + m_ * b.k0 + j0 * b.kc, D, s->C.get());
      combine(b, s->C.get(), j0, rows, sums, w_sum_.data() + b.k0 / chunk * m_, log_q,
              /*accumulate=*/b.k0 > 0, out);
    };
    if (by_coefficients) {
#pragma omp for schedule(dynamic, 1)
      for (int64_t nblk = 0; nblk < n_blocks; ++nblk)
        if (s)
          guarded([&] {
            for (int64_t k0 = 0; k0 < K_; k0 += chunk) {
              Block b = block_of(nblk, k0);
              extract_block(b);
              for (int64_t j0 = 0; j0 < m_; j0 += mb) rows_of(b, j0);
            }
          });
    } else {
      for (int64_t nblk = 0; nblk < n_blocks; ++nblk)
        for (int64_t k0 = 0; k0 < K_; k0 += chunk) {
#pragma omp single
          if (s)
            guarded([&] {
              shared_block = block_of(nblk, k0);
              extract_block(shared_block);
            });
          const Block b = shared_block;  // the single's barrier published it
#pragma omp for schedule(dynamic, 1)
          for (int64_t jb = 0; jb < m_blocks; ++jb)
            if (s) guarded([&] { rows_of(b, jb * mb); });
        }
    }
    scratch_cache().release(std::move(s));
  }
  if (error) std::rethrow_exception(error);
}

void mod2k_products(Int8Kernel kernel, int count, const uint64_t* const* in, int64_t K, int64_t N,
                    const int8_t* W, int64_t m, bool trans_w, int log_q, uint64_t* const* out) {
  Mod2kWeights(kernel, W, K, m, trans_w).products(count, in, N, log_q, out);
}

}  // namespace cipherlora
