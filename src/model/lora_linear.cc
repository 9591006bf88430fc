#include "model/lora_linear.h"

#include "common/splitmix64.h"
#include "tensor/gemm.h"

namespace cipherlora {

void lora_forward(const LoraPair& p, float s, const float* xd, int64_t N, float* u, float* y,
                  int64_t ldy) {
  const int64_t r = static_cast<int64_t>(p.A.size()) / p.in;
  sgemm(false, true, N, r, p.in, 1.0f, xd, p.in, p.A.data(), p.in, 0.0f, u, r);
  sgemm(false, true, N, p.out, r, s, u, r, p.B.data(), r, 1.0f, y, ldy);
}

void lora_backward(LoraPair& p, float s, const float* xd, const float* u, const float* dy,
                   int64_t ldy, int64_t N, float* du, float* dx, const uint8_t* keep,
                   float keep_scale, float* tmp) {
  const int64_t r = static_cast<int64_t>(p.A.size()) / p.in;
  // dB [out, r] += s · dyᵀ · u
  sgemm(true, false, p.out, r, N, s, dy, ldy, u, r, 1.0f, p.dB.data(), r);
  // du [N, r] = s · dy · B
  sgemm(false, false, N, r, p.out, s, dy, ldy, p.B.data(), r, 0.0f, du, r);
  // dA [r, in] += duᵀ · xd
  sgemm(true, false, r, p.in, N, 1.0f, du, r, xd, p.in, 1.0f, p.dA.data(), p.in);
  if (keep == nullptr) {
    // dx [N, in] += du · A
    sgemm(false, false, N, p.in, r, 1.0f, du, r, p.A.data(), p.in, 1.0f, dx, p.in);
    return;
  }
  sgemm(false, false, N, p.in, r, 1.0f, du, r, p.A.data(), p.in, 0.0f, tmp, p.in);
  const int64_t n = N * p.in;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] += keep[i] ? keep_scale * tmp[i] : 0.0f;
}

void dropout_forward(const float* x, int64_t n, float p, uint64_t seed, uint64_t stream,
                     uint8_t* keep, float* xd) {
  const uint64_t base = splitmix64_mix(seed ^ splitmix64_mix(stream));
  // keep when the top 24 bits, as a uniform in [0, 1), are >= p.
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(p) * (1 << 24));
  const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t h = splitmix64_mix(base + static_cast<uint64_t>(i)) >> 40;
    keep[i] = h >= threshold;
    xd[i] = keep[i] ? x[i] * scale : 0.0f;
  }
}

}  // namespace cipherlora
