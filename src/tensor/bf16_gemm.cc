#include "tensor/bf16_gemm.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <bit>
#include <cassert>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "common/error.h"
#include "tensor/gemm.h"
#include "tensor/threads.h"
#include "tensor/vector_clones.h"

namespace cipherlora {
namespace {

// Branch-free so that it vectorizes (the clones give AVX-512 and AVX2 versions). Integer-only:
// the same bits on every CPU, unlike vcvtneps2bf16, which flushes subnormal inputs to zero.
CIPHERLORA_VECTOR_CLONES void round_block(const float* src, int64_t n, uint16_t* dst) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t x = std::bit_cast<uint32_t>(src[i]);
    // Adding 0x7fff plus the lowest kept bit rounds the 16 dropped bits to nearest, ties to even;
    // a carry out of the mantissa bumps the exponent, which turns overflow into inf.
    const uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
    // A NaN could round to inf (or carry into the sign): truncate it and set the quiet bit.
    const uint32_t nan = (x >> 16) | 0x40u;
    dst[i] = static_cast<uint16_t>((x & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
  }
}

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::matmul::primitive_desc matmul_desc(bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                                         int64_t lda, int64_t ldb, int64_t ldc) {
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  // Plain strided layouts: a transposed operand is the same buffer with swapped strides.
  const dnnl::memory::desc a_md({M, K}, dt::bf16, ta ? dims{1, lda} : dims{lda, 1});
  const dnnl::memory::desc b_md({K, N}, dt::bf16, tb ? dims{1, ldb} : dims{ldb, 1});
  const dnnl::memory::desc c_md({M, N}, dt::f32, dims{ldc, 1});
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), cpu_engine());
}

// Building a primitive descriptor costs tens of microseconds even when oneDNN's own primitive
// cache already holds the kernel, so ours maps the full call signature to the primitive. The
// thread count is part of the key because oneDNN fixes its work split when the primitive is made.
using Key = std::tuple<bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int>;

struct Cached {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  // oneDNN's library-managed scratchpad belongs to the primitive: two threads must not run the
  // same primitive at once (the engine calls from one thread; the lock is then uncontended).
  mutable std::mutex running;
};

std::shared_ptr<const Cached> cached_matmul(const Key& key) {
  // Training uses a handful of shapes; evaluation of uneven batches may add one per batch size.
  // Bounded so that a long run over many shapes cannot grow without limit.
  constexpr size_t kMaxEntries = 256;
  static std::mutex mu;
  static std::map<Key, std::shared_ptr<const Cached>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it == cache.end()) {
    if (cache.size() >= kMaxEntries) cache.clear();
    const auto [ta, tb, M, N, K, lda, ldb, ldc, threads] = key;
    std::shared_ptr<Cached> c;
    try {
      c = std::make_shared<Cached>();
      c->pd = matmul_desc(ta, tb, M, N, K, lda, ldb, ldc);
    } catch (const dnnl::error&) {
      c = nullptr;  // oneDNN has no bf16 matmul for this shape: bf16_gemm widens instead
    }
    if (c) c->prim = dnnl::matmul(c->pd);
    it = cache.emplace(key, std::move(c)).first;
  }
  return it->second;  // shared: a product in flight survives another thread clearing the cache
}

CIPHERLORA_VECTOR_CLONES void widen_block(const uint16_t* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; ++i)
    dst[i] = std::bit_cast<float>(static_cast<uint32_t>(src[i]) << 16);
}

// Without native bf16: the operands widened to fp32 (exactly) and multiplied with sgemm. Products
// of bf16 values are exact in fp32 too, so the result has the same meaning and error bound; only
// the speed is lost.
void widened_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda,
                  const uint16_t* B, int64_t ldb, float* C, int64_t ldc) {
  thread_local std::vector<float> a, b;
  const int64_t na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb;  // padding widened too
  if (static_cast<int64_t>(a.size()) < na) a.resize(na);
  if (static_cast<int64_t>(b.size()) < nb) b.resize(nb);
  widen_block(A, na, a.data());
  widen_block(B, nb, b.data());
  sgemm(ta, tb, M, N, K, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, C, ldc);
}

// The implementation oneDNN picks for a forward product of the engine's size (y = x·Wᵀ), or ""
// when it has none.
std::string typical_impl() {
  try {
    return matmul_desc(false, true, 1024, 1024, 1024, 1024, 1024, 1024).impl_info_str();
  } catch (const dnnl::error&) {
    return "";
  }
}

}  // namespace

void round_to_bf16(const float* src, int64_t n, uint16_t* dst) {
  // Large buffers (the LM head's [256, V] logit gradients) are split over the threads; the rest
  // runs on the calling thread, where a parallel region would cost more than it saves.
  constexpr int64_t kBlock = int64_t{1} << 16;
  if (n <= kBlock) {
    round_block(src, n, dst);
    return;
  }
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t i0 = b * kBlock;
    round_block(src + i0, std::min(kBlock, n - i0), dst + i0);
  }
}

void bf16_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A,
               int64_t lda, const uint16_t* B, int64_t ldb, float* C, int64_t ldc) {
  assert(M >= 0 && N >= 0 && K >= 0);
  assert(lda >= (trans_a ? M : K) && ldb >= (trans_b ? K : N) && ldc >= N);
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  // oneDNN's emulation of bf16 without AVX512_BF16 runs at a third of sgemm's speed (measured:
  // 74 against 210 GFLOP/s with DNNL_MAX_CPU_ISA=AVX512_CORE); widening to fp32 is faster.
  if (!bf16_gemm_is_native())
    return widened_gemm(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
  try {
    const std::shared_ptr<const Cached> c =
        cached_matmul(Key{trans_a, trans_b, M, N, K, lda, ldb, ldc, num_threads()});
    if (!c) return widened_gemm(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);  // odd shape
    const dnnl::engine& engine = cpu_engine();
    dnnl::memory a(c->pd.src_desc(), engine, const_cast<uint16_t*>(A));
    dnnl::memory b(c->pd.weights_desc(), engine, const_cast<uint16_t*>(B));
    dnnl::memory out(c->pd.dst_desc(), engine, C);
    dnnl::stream stream(engine);
    std::lock_guard<std::mutex> lock(c->running);
    c->prim.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, out}});
    stream.wait();
  } catch (const dnnl::error& e) {
    throw Error("bf16 gemm: oneDNN matmul failed for M=" + std::to_string(M) +
                " N=" + std::to_string(N) + " K=" + std::to_string(K) + ": " + e.what());
  }
}

std::string bf16_gemm_kernel_name() {
  const dnnl_version_t* v = dnnl_version();
  const std::string onednn = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) +
                             "." + std::to_string(v->patch);
  if (bf16_gemm_is_native()) return onednn + " bf16 matmul (" + typical_impl() + ")";
  const std::string impl = typical_impl();
  return "bf16 widened to fp32 for sgemm (" + onednn + " has " +
         (impl.empty() ? "no bf16 matmul" : "only " + impl + " for bf16") + " here)";
}

bool bf16_gemm_is_native() {
  static const bool native = [] {
    const std::string impl = typical_impl();
    return impl.find("bf16") != std::string::npos || impl.find("amx") != std::string::npos;
  }();
  return native;
}

}  // namespace cipherlora
