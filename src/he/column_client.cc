#include "he/column_client.h"

#include <omp.h>
#include <sodium.h>

#include <algorithm>
#include <exception>

#include <string>
#include <vector>

#include "common/error.h"
#include "he/gaussian_sampler.h"
#include "he/mask_expansion.h"
#include "he/ring_product.h"
#include "he/security.h"
#include "he/seed.h"
#include "he/ternary_secret.h"

namespace cipherlora {

struct ColumnClient::Keys {
  explicit Keys(int log_n)
      : secret(TernarySecret::fresh(log_n)),
        multiplier(secret.coefficients(), 64),
        mask_master(random_seed()),
        noise_master(random_seed()) {}
  ~Keys() {
    wipe(mask_master);
    wipe(noise_master);
  }
  TernarySecret secret;
  TernaryRingMultiplier multiplier;  // holds NTT(s)
  Seed mask_master, noise_master;
  uint64_t requests = 0;  // the KDF index of the next request: never reused under this secret
};

ColumnClient::ColumnClient() = default;
ColumnClient::~ColumnClient() = default;

ColumnClient::Keys& ColumnClient::keys_for(int log_n) {
  auto& k = keys_[log_n];
  if (!k) k = std::make_unique<Keys>(log_n);
  return *k;
}

void ColumnClient::rekey() {
  keys_.clear();
  ++rekeys_;
}

namespace {

uint64_t low_mask(int bits) {
  return bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

}  // namespace

EncryptedRequest ColumnClient::encrypt(const int32_t* x, int64_t T, int64_t K,
                                       const ColumnPlan& plan, uint32_t linear_id,
                                       Direction direction) {
  check_security(plan.log_n, plan.log_q, kStandardSigma);
  const int64_t N = plan.n();
  require(T >= 1 && T <= N && K >= 1, "encrypt: " + std::to_string(T) + " tokens x " +
                                          std::to_string(K) +
                                          " features do not fit N = " + std::to_string(N));
  Keys& keys = keys_for(plan.log_n);
  const uint64_t index = keys.requests++;
  EncryptedRequest req;
  req.linear_id = linear_id;
  req.direction = direction;
  req.log_n = static_cast<uint8_t>(plan.log_n);
  req.log_q = static_cast<uint8_t>(plan.log_q);
  req.log_q_b_out = static_cast<uint8_t>(plan.log_q_b);
  req.log_q_a_out = static_cast<uint8_t>(plan.log_q_a);
  req.mask_seed = derive_seed(keys.mask_master, kMaskContext, index);
  req.columns = static_cast<uint32_t>(K);
  Seed noise_seed = derive_seed(keys.noise_master, kNoiseContext, index);

  // body [K][N] = a·s + e + Δ·x, built a tile of columns at a time so that the masks, their
  // products with s and the noise of a tile stay in cache, and x [T, K] is read a cache line
  // (kTile columns of one token) at a time rather than with a stride of K.
  constexpr int64_t kTile = 8;
  req.body.resize(K * N);
  const uint64_t mask = low_mask(plan.log_q);
  const int shift = plan.log_delta;
  const int64_t tiles = (K + kTile - 1) / kTile;
  std::exception_ptr failure;
#pragma omp parallel
  {
    std::vector<uint64_t> a(kTile * N);
    std::vector<int32_t> e(kTile * N);
#pragma omp for schedule(static)
    for (int64_t tile = 0; tile < tiles; ++tile) {
      const int64_t k0 = tile * kTile, kn = std::min(kTile, K - k0);
      uint64_t* b = req.body.data() + k0 * N;
      try {
        expand_masks(req.mask_seed, plan.log_q, k0 * N, kn * N, a.data());
        for (int64_t i = 0; i < kn; ++i)
          keys.multiplier.multiply(a.data() + i * N, plan.log_q, b + i * N);
        GaussianSampler::standard().sample(noise_seed, k0 * N, kn * N, e.data());
      } catch (...) {
#pragma omp critical(column_client_failure)
        failure = std::current_exception();
        continue;
      }
      for (int64_t i = 0; i < kn * N; ++i) b[i] += static_cast<uint64_t>(int64_t{e[i]});
      for (int64_t n = 0; n < T; ++n) {
        const int32_t* xr = x + n * K + k0;
        for (int64_t i = 0; i < kn; ++i)
          b[i * N + n] += static_cast<uint64_t>(int64_t{xr[i]}) << shift;
      }
      for (int64_t i = 0; i < kn * N; ++i) b[i] &= mask;
    }
    sodium_memzero(e.data(), e.size() * sizeof(int32_t));
  }
  wipe(noise_seed);
  if (failure) std::rethrow_exception(failure);
  return req;
}

void ColumnClient::decrypt(const EncryptedResponse& r, const ColumnPlan& plan, int64_t T, int64_t m,
                           int64_t* y, int64_t* residual) {
  const int64_t N = plan.n();
  const bool ok = r.columns == static_cast<uint64_t>(m) && r.log_n == plan.log_n &&
                  r.log_q_b == plan.log_q_b && r.log_q_a == plan.log_q_a &&
                  static_cast<int64_t>(r.b.size()) == m * N &&
                  static_cast<int64_t>(r.a.size()) == m * N;
  if (!ok) {
    rekey();  // never decrypt anything else under a secret a worker may be probing
    throw Error("encrypted product: the worker's response does not match the request (" +
                std::to_string(r.columns) + " columns, expected " + std::to_string(m) +
                "); secrets discarded");
  }
  require(T >= 1 && T <= N, "decrypt: token count out of range");
  Keys& keys = keys_for(plan.log_n);
  const uint64_t q_mask = low_mask(plan.log_q);
  const int b_shift = plan.log_q - plan.log_q_b, a_shift = plan.log_q - plan.log_q_a;
  const int d = plan.log_delta, y_bits = plan.log_q - plan.log_delta;
  const uint64_t half_delta = uint64_t{1} << (d - 1);
  const uint64_t y_mask = low_mask(y_bits), y_half = uint64_t{1} << (y_bits - 1);
#pragma omp parallel
  {
    std::vector<uint64_t> as(N);
#pragma omp for schedule(static)
    for (int64_t j = 0; j < m; ++j) {
      keys.multiplier.multiply(r.a.data() + j * N, plan.log_q_a, as.data());
      const uint64_t* b = r.b.data() + j * N;
      for (int64_t t = 0; t < T; ++t) {
        // phase = Δ·Y + small, mod 2^log_q; round to the nearest multiple of Δ, then centre.
        const uint64_t phase = ((b[t] << b_shift) - (as[t] << a_shift)) & q_mask;
        const uint64_t v = ((phase + half_delta) & q_mask) >> d & y_mask;
        y[t * m + j] = v >= y_half ? static_cast<int64_t>(v) - static_cast<int64_t>(y_mask) - 1
                                   : static_cast<int64_t>(v);
        if (residual) {
          // phase − Δ·v mod 2^log_q, centred: the error, |error| < Δ/2.
          const uint64_t err = (phase - (v << d)) & q_mask;
          residual[t * m + j] = static_cast<int64_t>(err << (64 - plan.log_q)) >> (64 - plan.log_q);
        }
      }
    }
  }
}

}  // namespace cipherlora
