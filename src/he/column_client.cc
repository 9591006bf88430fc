#include "he/column_client.h"

#include <omp.h>
#include <sodium.h>

#include <algorithm>
#include <exception>

#include <string>
#include <vector>

#include "common/error.h"
#include "he/bit_packing.h"
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
  EncryptedRequest req;
  encrypt_columns(
      x, T, K, plan, linear_id, direction, req,
      [&](int64_t k0, int64_t kn, const uint64_t* tile) {
        std::copy_n(tile, kn * plan.n(), req.body.data() + k0 * plan.n());
      },
      [&] { req.body.resize(K * plan.n()); });
  return req;
}

std::vector<uint8_t> ColumnClient::encrypt_to_bytes(const int32_t* x, int64_t T, int64_t K,
                                                    const ColumnPlan& plan, uint32_t linear_id,
                                                    Direction direction) {
  EncryptedRequest header;
  std::vector<uint8_t> message;
  const int64_t N = plan.n(), column_bytes = N * plan.log_q / 8;
  encrypt_columns(
      x, T, K, plan, linear_id, direction, header,
      [&](int64_t k0, int64_t kn, const uint64_t* tile) {
        std::span<uint8_t> body(message.data() + kRequestHeaderBytes,
                                message.size() - kRequestHeaderBytes);
        pack_bits(std::span(tile, kn * N), plan.log_q,
                  body.subspan(k0 * column_bytes, kn * column_bytes));
      },
      [&] { message = request_with_header(header); });
  return message;
}

void ColumnClient::encrypt_columns(const int32_t* x, int64_t T, int64_t K, const ColumnPlan& plan,
                                   uint32_t linear_id, Direction direction, EncryptedRequest& req,
                                   const TileSink& sink, const std::function<void()>& on_header) {
  check_security(plan.log_n, plan.log_q, kStandardSigma);
  const int64_t N = plan.n();
  require(T >= 1 && T <= N && K >= 1, "encrypt: " + std::to_string(T) + " tokens x " +
                                          std::to_string(K) +
                                          " features do not fit N = " + std::to_string(N));
  Keys& keys = keys_for(plan.log_n);
  const uint64_t index = keys.requests++;
  req.linear_id = linear_id;
  req.direction = direction;
  req.log_n = static_cast<uint8_t>(plan.log_n);
  req.log_q = static_cast<uint8_t>(plan.log_q);
  req.log_q_b_out = static_cast<uint8_t>(plan.log_q_b);
  req.log_q_a_out = static_cast<uint8_t>(plan.log_q_a);
  req.mask_seed = derive_seed(keys.mask_master, kMaskContext, index);
  req.columns = static_cast<uint32_t>(K);
  on_header();  // the sink's storage is sized here, before the parallel loop
  Seed noise_seed = derive_seed(keys.noise_master, kNoiseContext, index);

  // Column k of the body is a_k·s + e_k + Δ·x[·, k]. Built a tile of columns at a time so that
  // the masks, their products with s and the noise of a tile stay in cache, and x [T, K] is read
  // a cache line (kTile columns of one token) at a time rather than with a stride of K; each
  // finished tile goes to `sink`.
  constexpr int64_t kTile = 8;
  const uint64_t mask = low_mask(plan.log_q);
  const int shift = plan.log_delta;
  const int64_t tiles = (K + kTile - 1) / kTile;
  std::exception_ptr failure;
#pragma omp parallel
  {
    std::vector<uint64_t> a(kTile * N), b(kTile * N);
    std::vector<int32_t> e(kTile * N);
#pragma omp for schedule(static)
    for (int64_t tile = 0; tile < tiles; ++tile) {
      const int64_t k0 = tile * kTile, kn = std::min(kTile, K - k0);
      try {
        expand_masks(req.mask_seed, plan.log_q, k0 * N, kn * N, a.data());
        for (int64_t i = 0; i < kn; ++i)
          keys.multiplier.multiply(a.data() + i * N, plan.log_q, b.data() + i * N);
        GaussianSampler::standard().sample(noise_seed, k0 * N, kn * N, e.data());
        for (int64_t i = 0; i < kn * N; ++i) b[i] += static_cast<uint64_t>(int64_t{e[i]});
        for (int64_t n = 0; n < T; ++n) {
          const int32_t* xr = x + n * K + k0;
          for (int64_t i = 0; i < kn; ++i)
            b[i * N + n] += static_cast<uint64_t>(int64_t{xr[i]}) << shift;
        }
        for (int64_t i = 0; i < kn * N; ++i) b[i] &= mask;
        sink(k0, kn, b.data());
      } catch (...) {
#pragma omp critical(column_client_failure)
        failure = std::current_exception();
      }
    }
    sodium_memzero(e.data(), e.size() * sizeof(int32_t));
  }
  wipe(noise_seed);
  if (failure) std::rethrow_exception(failure);
}

void ColumnClient::check_response(bool ok, uint32_t columns, int64_t m) {
  if (ok) return;
  rekey();  // never decrypt anything else under a secret a worker may be probing
  throw Error("encrypted product: the worker's response does not match the request (" +
              std::to_string(columns) + " columns, expected " + std::to_string(m) +
              "); secrets discarded");
}

void ColumnClient::decrypt(const EncryptedResponse& r, const ColumnPlan& plan, int64_t T, int64_t m,
                           int64_t* y, int64_t* residual) {
  const int64_t N = plan.n();
  check_response(r.columns == static_cast<uint64_t>(m) && r.log_n == plan.log_n &&
                     r.log_q_b == plan.log_q_b && r.log_q_a == plan.log_q_a &&
                     static_cast<int64_t>(r.b.size()) == m * N &&
                     static_cast<int64_t>(r.a.size()) == m * N,
                 r.columns, m);
  decrypt_columns(
      plan, T, m,
      [&](int64_t j, uint64_t* b, uint64_t* a) {
        std::copy_n(r.b.data() + j * N, N, b);
        std::copy_n(r.a.data() + j * N, N, a);
      },
      y, residual);
}

void ColumnClient::decrypt(const PackedResponse& r, const ColumnPlan& plan, int64_t T, int64_t m,
                           int64_t* y) {
  const int64_t N = plan.n();
  check_response(r.columns == static_cast<uint64_t>(m) && r.log_n == plan.log_n &&
                     r.log_q_b == plan.log_q_b && r.log_q_a == plan.log_q_a,
                 r.columns, m);
  // view_response() checked the sizes; a column is N·bits/8 whole bytes of its section.
  const int64_t b_bytes = N * plan.log_q_b / 8, a_bytes = N * plan.log_q_a / 8;
  decrypt_columns(
      plan, T, m,
      [&](int64_t j, uint64_t* b, uint64_t* a) {
        unpack_bits(r.b.subspan(j * b_bytes, b_bytes), plan.log_q_b, std::span(b, N));
        unpack_bits(r.a.subspan(j * a_bytes, a_bytes), plan.log_q_a, std::span(a, N));
      },
      y, nullptr);
}

void ColumnClient::decrypt_columns(const ColumnPlan& plan, int64_t T, int64_t m,
                                   const FetchColumn& fetch, int64_t* y, int64_t* residual) {
  const int64_t N = plan.n();
  require(T >= 1 && T <= N, "decrypt: token count out of range");
  Keys& keys = keys_for(plan.log_n);
  const uint64_t q_mask = low_mask(plan.log_q);
  const int b_shift = plan.log_q - plan.log_q_b, a_shift = plan.log_q - plan.log_q_a;
  const int d = plan.log_delta, y_bits = plan.log_q - plan.log_delta;
  const uint64_t half_delta = uint64_t{1} << (d - 1);
  const uint64_t y_mask = low_mask(y_bits), y_half = uint64_t{1} << (y_bits - 1);
  // Tiles of kTile output columns: their values are gathered per token and written to y [T, m]
  // a cache line at a time instead of with a stride of m.
  constexpr int64_t kTile = 8;
  const int64_t tiles = (m + kTile - 1) / kTile;
  std::exception_ptr failure;
#pragma omp parallel
  {
    std::vector<uint64_t> b(N), as(N);
    std::vector<int64_t> vals(kTile * T), errs(residual ? kTile * T : 0);
#pragma omp for schedule(static)
    for (int64_t tile = 0; tile < tiles; ++tile) {
      const int64_t j0 = tile * kTile, jn = std::min(kTile, m - j0);
      try {
        for (int64_t i = 0; i < jn; ++i) {
          fetch(j0 + i, b.data(), as.data());
          keys.multiplier.multiply(as.data(), plan.log_q_a, as.data());
          for (int64_t t = 0; t < T; ++t) {
            // phase = Δ·Y + small, mod 2^log_q; round to the nearest multiple of Δ, centre.
            const uint64_t phase = ((b[t] << b_shift) - (as[t] << a_shift)) & q_mask;
            const uint64_t v = ((phase + half_delta) & q_mask) >> d & y_mask;
            vals[i * T + t] = v >= y_half
                                  ? static_cast<int64_t>(v) - static_cast<int64_t>(y_mask) - 1
                                  : static_cast<int64_t>(v);
            if (residual) {
              // phase − Δ·v mod 2^log_q, centred: the error, |error| < Δ/2.
              const uint64_t err = (phase - (v << d)) & q_mask;
              errs[i * T + t] = static_cast<int64_t>(err << (64 - plan.log_q)) >> (64 - plan.log_q);
            }
          }
        }
      } catch (...) {
#pragma omp critical(column_client_failure)
        failure = std::current_exception();
        continue;
      }
      for (int64_t t = 0; t < T; ++t)
        for (int64_t i = 0; i < jn; ++i) {
          y[t * m + j0 + i] = vals[i * T + t];
          if (residual) residual[t * m + j0 + i] = errs[i * T + t];
        }
    }
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace cipherlora
