#include "tensor/int8_gemm.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "common/error.h"
#include "tensor/vector_clones.h"

namespace cipherlora {
namespace {

// ---- portable kernel -------------------------------------------------------------------------

CIPHERLORA_VECTOR_CLONES int32_t dot_u8s8(const uint8_t* a, const int8_t* b, int64_t K) {
  int32_t acc = 0;
  for (int64_t k = 0; k < K; ++k) acc += static_cast<int32_t>(a[k]) * static_cast<int32_t>(b[k]);
  return acc;
}

// c[n] += a · b[n] for n < N.
CIPHERLORA_VECTOR_CLONES void axpy_s8(int32_t a, const int8_t* b, int64_t N, int32_t* c) {
  for (int64_t n = 0; n < N; ++n) c[n] += a * static_cast<int32_t>(b[n]);
}

// Tiles of C small enough that the rows of A and B they touch stay in cache; tiles run in
// parallel, each computed by one thread.
void portable_gemm(int64_t M, int64_t N, int64_t K, const uint8_t* A, int64_t lda, const int8_t* B,
                   int64_t ldb, bool trans_b, int32_t* C, int64_t ldc) {
  constexpr int64_t kTileM = 16;
  const int64_t tile_n = trans_b ? 32 : 256;
  const int64_t tiles_m = (M + kTileM - 1) / kTileM, tiles_n = (N + tile_n - 1) / tile_n;
#pragma omp parallel for schedule(static)
  for (int64_t tile = 0; tile < tiles_m * tiles_n; ++tile) {
    const int64_t m0 = tile / tiles_n * kTileM, m1 = std::min(M, m0 + kTileM);
    const int64_t n0 = tile % tiles_n * tile_n, n1 = std::min(N, n0 + tile_n);
    for (int64_t m = m0; m < m1; ++m) {
      const uint8_t* a = A + m * lda;
      int32_t* c = C + m * ldc;
      if (trans_b) {
        for (int64_t n = n0; n < n1; ++n) c[n] = dot_u8s8(a, B + n * ldb, K);
      } else {
        std::fill(c + n0, c + n1, 0);
        for (int64_t k = 0; k < K; ++k)
          if (a[k] != 0) axpy_s8(a[k], B + k * ldb + n0, n1 - n0, c + n0);
      }
    }
  }
}

// ---- oneDNN kernel ---------------------------------------------------------------------------

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::matmul::primitive_desc onednn_matmul_desc(int64_t M, int64_t N, int64_t K, int64_t lda,
                                                int64_t ldb, bool trans_b, int64_t ldc) {
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  // Plain strided layouts; no attributes (no scales, no zero points): oneDNN then computes the
  // plain integer sum with s32 accumulation. With u8 sources it needs no s8 compensation.
  const dnnl::memory::desc a_md({M, K}, dt::u8, dims{lda, 1});
  const dnnl::memory::desc b_md({K, N}, dt::s8, trans_b ? dims{1, ldb} : dims{ldb, 1});
  const dnnl::memory::desc c_md({M, N}, dt::s32, dims{ldc, 1});
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), cpu_engine());
}

// The primitive is rebuilt per call; oneDNN's primitive cache makes that a lookup (~20 µs,
// against milliseconds of product at the engine's shapes).
void onednn_gemm(int64_t M, int64_t N, int64_t K, const uint8_t* A, int64_t lda, const int8_t* B,
                 int64_t ldb, bool trans_b, int32_t* C, int64_t ldc) {
  try {
    const auto pd = onednn_matmul_desc(M, N, K, lda, ldb, trans_b, ldc);
    const dnnl::engine& engine = cpu_engine();
    dnnl::memory a(pd.src_desc(), engine, const_cast<uint8_t*>(A));
    dnnl::memory b(pd.weights_desc(), engine, const_cast<int8_t*>(B));
    dnnl::memory c(pd.dst_desc(), engine, C);
    dnnl::stream stream(engine);
    dnnl::matmul(pd).execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    stream.wait();
  } catch (const dnnl::error& e) {
    throw Error("int8 gemm: oneDNN matmul failed for M=" + std::to_string(M) +
                " N=" + std::to_string(N) + " K=" + std::to_string(K) + ": " + e.what());
  }
}

bool isa_has_int8_dot_product() {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_vnni:
    case dnnl_cpu_isa_avx512_core_bf16:
    case dnnl_cpu_isa_avx512_core_amx:
    case dnnl_cpu_isa_avx2_vnni:
      return true;
    default:
      return false;
  }
}

// Extreme inputs where any int16 saturation or int32 wrap would show: A all 255 and B columns of
// ±127 at K = kMaxExactK put every sum at ±(2^31 - 1913); shapes cover kernel tails and both
// layouts. Then random values against the portable kernel.
bool onednn_self_check() {
  const int64_t shapes[][2] = {{1, 1}, {3, 17}, {37, 70}};
  for (bool trans_b : {false, true}) {
    for (const auto& s : shapes) {
      const int64_t M = s[0], N = s[1], K = kMaxExactK;
      std::vector<uint8_t> A(M * K, 255);
      std::vector<int8_t> B(K * N);
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n)
          B[trans_b ? n * K + k : k * N + n] = static_cast<int8_t>(n % 2 ? -127 : 127);
      std::vector<int32_t> C(M * N);
      onednn_gemm(M, N, K, A.data(), K, B.data(), trans_b ? K : N, trans_b, C.data(), N);
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n)
          if (C[m * N + n] != (n % 2 ? -1 : 1) * 255 * 127 * K) return false;
    }
    const int64_t M = 45, N = 67, K = 517;
    std::mt19937 rng(7);
    std::vector<uint8_t> A(M * K);
    std::vector<int8_t> B(K * N);
    for (auto& a : A) a = static_cast<uint8_t>(rng());
    for (auto& b : B) b = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    std::vector<int32_t> want(M * N), got(M * N);
    const int64_t ldb = trans_b ? K : N;
    portable_gemm(M, N, K, A.data(), K, B.data(), ldb, trans_b, want.data(), N);
    onednn_gemm(M, N, K, A.data(), K, B.data(), ldb, trans_b, got.data(), N);
    if (got != want) return false;
  }
  return true;
}

}  // namespace

bool onednn_int8_exact() {
  static const bool exact = [] {
    try {
      return isa_has_int8_dot_product() && onednn_self_check();
    } catch (const Error&) {
      return false;
    }
  }();
  return exact;
}

Int8Kernel best_int8_kernel() {
  return onednn_int8_exact() ? Int8Kernel::kOneDnn : Int8Kernel::kPortable;
}

std::string int8_kernel_name(Int8Kernel kernel) {
  if (kernel == Int8Kernel::kPortable) return "portable u8s8s32 (C++ loops, OpenMP)";
  const dnnl_version_t* v = dnnl_version();
  std::string impl = "unavailable";
  try {
    impl = onednn_matmul_desc(1024, 1024, 1024, 1024, 1024, true, 1024).impl_info_str();
  } catch (const dnnl::error&) {
  }
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) + " u8s8s32 matmul (" + impl + ")" +
         (onednn_int8_exact() ? "" : " [not exact on this CPU]");
}

void gemm_u8s8s32(Int8Kernel kernel, int64_t M, int64_t N, int64_t K, const uint8_t* A, int64_t lda,
                  const int8_t* B, int64_t ldb, bool trans_b, int32_t* C, int64_t ldc) {
  require(M >= 0 && N >= 0 && K >= 0 && lda >= K && ldb >= (trans_b ? K : N) && ldc >= N,
          "int8 gemm: bad shape M=" + std::to_string(M) + " N=" + std::to_string(N) +
              " K=" + std::to_string(K));
  require(K <= kMaxExactK, "int8 gemm: K=" + std::to_string(K) + " exceeds " +
                               std::to_string(kMaxExactK) +
                               ", beyond which int32 sums of u8·s8 products may overflow");
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t m = 0; m < M; ++m) std::fill(C + m * ldc, C + m * ldc + N, 0);
    return;
  }
  if (kernel == Int8Kernel::kOneDnn) {
    require(onednn_int8_exact(),
            "int8 gemm: oneDNN's u8 x s8 product is not exact on this CPU (no VNNI/AMX)");
    onednn_gemm(M, N, K, A, lda, B, ldb, trans_b, C, ldc);
  } else {
    portable_gemm(M, N, K, A, lda, B, ldb, trans_b, C, ldc);
  }
}

}  // namespace cipherlora
