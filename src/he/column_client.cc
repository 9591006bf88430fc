#include "he/column_client.h"

#include <omp.h>
#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/aligned_allocator.h"
#include "common/error.h"
#include "common/grow.h"
#include "he/column_body.h"
#include "he/column_rounding.h"
#include "he/column_transpose.h"
#include "he/combined_secret.h"
#include "he/fft_ring_product.h"
#include "he/gaussian_sampler.h"
#include "he/mask_expansion.h"
#include "he/security.h"
#include "he/seed.h"
#include "he/ternary_secret.h"

namespace cipherlora {
namespace {

// Columns of a tile live `kPad` words past a power of two apart: rows of N = 2^log_n words would
// all map to the same L1 sets, and walking a token across the tile's columns would thrash them.
constexpr int64_t kPad = 16;

// Columns per tile: at most max_tile, and a whole number of tiles per thread, so that no thread
// waits for another's extra tile (K = 576 in 64s is 9 tiles: one thread would do 5, the other 4).
int64_t balanced_tile(int64_t columns, int threads, int64_t max_tile) {
  const int64_t per_thread = (columns + max_tile * threads - 1) / (max_tile * threads);
  const int64_t tiles = std::max<int64_t>(1, per_thread * threads);
  return (columns + tiles - 1) / tiles;
}

// v.resize(size) for vectors of secret values: when the storage moves, the old copy is wiped
// before it is freed instead of being left behind in the heap.
template <class V>
void grow_wiped(V& v, size_t size) {
  using T = typename V::value_type;
  if (size > v.capacity()) {
    V bigger;
    bigger.reserve(std::max(size, 2 * v.capacity()));
    bigger.assign(v.begin(), v.end());
    sodium_memzero(v.data(), v.size() * sizeof(T));
    v.swap(bigger);
  }
  v.resize(size);
}

}  // namespace

struct ColumnClient::Keys {
  struct Pending {
    uint32_t linear_id = 0;
    Direction direction = Direction::kForward;
    int log_q = 0;
  };

  explicit Keys(int log_n)
      : log_n(log_n),
        n(int64_t{1} << log_n),
        secret_master(random_seed()),
        mask_master(random_seed()),
        noise_master(random_seed()) {}
  ~Keys() {
    wipe(secret_master);
    wipe(mask_master);
    wipe(noise_master);
    sodium_memzero(secrets.data(), secrets.size());
    sodium_memzero(transformed.data(), transformed.size() * sizeof(double));
    for (auto& [key, c] : combined) {
      sodium_memzero(c.wide.data(), c.wide.size() * sizeof(int32_t));
      sodium_memzero(c.narrow.data(), c.narrow.size() * sizeof(int16_t));
    }
  }

  // s_k for k < K, [K][N] in {-1, 0, 1}; derived on first use, with their transformed forms
  // [K][N] (fft_ring_product.h): encryption multiplies every request's mask by them.
  const int8_t* secrets_for(int64_t K) {
    const int64_t have = static_cast<int64_t>(secrets.size()) / n;
    if (have >= K) return secrets.data();
    grow_wiped(secrets, K * n);
    grow_wiped(transformed, K * FftRingMultiplier::transformed_words(n));
    for (int64_t k = have; k < K; ++k) {
      Seed seed = derive_seed(secret_master, kSecretContext, static_cast<uint64_t>(k));
      const TernarySecret s = TernarySecret::from_seed(seed, log_n);
      wipe(seed);
      std::copy(s.coefficients().begin(), s.coefficients().end(), secrets.begin() + k * n);
      FftRingMultiplier::transform_operand(s.coefficients(), transformed_for(k));
    }
    return secrets.data();
  }
  double* transformed_for(int64_t k) {
    return transformed.data() + k * FftRingMultiplier::transformed_words(n);
  }

  // The mask of request `index`, [N] mod 2^log_q.
  std::vector<uint64_t> mask(uint64_t index, int log_q) const {
    Seed seed = derive_seed(mask_master, kMaskContext, index);
    std::vector<uint64_t> a(n);
    expand_masks(seed, log_q, 0, n, a.data());
    wipe(seed);
    return a;
  }

  int log_n;
  int64_t n;
  Seed secret_master, mask_master, noise_master;
  LargeVector<int8_t> secrets;      // [K][N], grown on demand
  LargeVector<double> transformed;  // [K][N], the secrets' transformed forms
  // s'_j of each weight and direction, [m][N], and the public bound on their norms: int16 where
  // the weight's public bound allows (for SmolLM2-135M about 1 GB in all instead of 2), else
  // int32. Not kept transformed like the secrets: at twice the memory that would save one
  // transform of the three in each decryption product.
  std::map<std::pair<uint32_t, Direction>, CombinedSecrets> combined;
  std::map<uint64_t, Pending> pending;  // requests sent and not yet decrypted, by request id
  uint64_t requests = 0;  // the KDF index of the next request: never reused under these secrets
};

// Per-thread buffers of encryption and decryption (a request's tile of noise, x's columns, one
// column's body or mask product, a tile of results), kept between calls: allocated afresh, these
// megabytes came from new pages on every request, and zeroing them cost more than the work.
// Wiped when the client goes; the noise and mask products are also wiped after every call.
struct ColumnClient::ThreadScratch {
  std::vector<uint64_t> b, as;
  std::vector<int32_t> e, xt;
  std::vector<int64_t> vals, errs;
  std::vector<int32_t> vals32;  // vals for int32 outputs
  ThreadScratch() = default;
  ThreadScratch(ThreadScratch&&) noexcept = default;
  ThreadScratch& operator=(ThreadScratch&&) noexcept = default;
  ~ThreadScratch() {
    sodium_memzero(b.data(), b.size() * sizeof(uint64_t));
    sodium_memzero(as.data(), as.size() * sizeof(uint64_t));
    sodium_memzero(e.data(), e.size() * sizeof(int32_t));
    sodium_memzero(xt.data(), xt.size() * sizeof(int32_t));
    sodium_memzero(vals.data(), vals.size() * sizeof(int64_t));
    sodium_memzero(vals32.data(), vals32.size() * sizeof(int32_t));
    sodium_memzero(errs.data(), errs.size() * sizeof(int64_t));
  }
};

void ColumnClient::reserve_scratch(int threads) {
  if (static_cast<int>(scratch_.size()) < threads) scratch_.resize(threads);
}

ColumnClient::ColumnClient() = default;
ColumnClient::~ColumnClient() = default;

uint32_t ColumnClient::add_linear(std::vector<int8_t> wq, int64_t out, int64_t in) {
  check_weight_shape(wq, out, in, "client");
  Linear lin;
  lin.out = out;
  lin.in = in;
  lin.wq = std::move(wq);
  linears_.push_back(std::move(lin));
  return static_cast<uint32_t>(linears_.size() - 1);
}

ColumnClient::Keys& ColumnClient::keys_for(int log_n) {
  auto& k = keys_[log_n];
  if (!k) k = std::make_unique<Keys>(log_n);
  return *k;
}

void ColumnClient::rekey() {
  keys_.clear();
  ++rekeys_;
}

template <class X>
EncryptedRequest ColumnClient::encrypt(const X* x, int64_t T, int64_t K, const ColumnPlan& plan,
                                       uint32_t linear_id, Direction direction) {
  EncryptedRequest req;
  encrypt_columns(x, T, K, plan, linear_id, direction, req, [&] {
    req.body.resize(K * plan.n());
    return BodyColumns{.values = req.body.data()};
  });
  return req;
}

std::vector<uint8_t> ColumnClient::encrypt_to_bytes(const int32_t* x, int64_t T, int64_t K,
                                                    const ColumnPlan& plan, uint32_t linear_id,
                                                    Direction direction) {
  std::vector<uint8_t> message;
  encrypt_to_bytes(x, T, K, plan, linear_id, direction, message);
  return message;
}

template <class X>
void ColumnClient::encrypt_to_bytes(const X* x, int64_t T, int64_t K, const ColumnPlan& plan,
                                    uint32_t linear_id, Direction direction,
                                    std::vector<uint8_t>& message) {
  EncryptedRequest header;
  encrypt_columns(x, T, K, plan, linear_id, direction, header, [&] {
    request_with_header(header, message);
    return BodyColumns{.packed = message.data() + kRequestHeaderBytes};
  });
}

template <class X>
void ColumnClient::encrypt_columns(const X* x, int64_t T, int64_t K, const ColumnPlan& plan,
                                   uint32_t linear_id, Direction direction, EncryptedRequest& req,
                                   const std::function<BodyColumns()>& on_header) {
  check_security(plan.log_n, plan.log_q, kStandardSigma);
  const int64_t N = plan.n();
  require(T >= 1 && T <= N && K >= 1, "encrypt: " + std::to_string(T) + " tokens x " +
                                          std::to_string(K) +
                                          " features do not fit N = " + std::to_string(N));
  require(linear_id < linears_.size(), "encrypt: unknown linear " + std::to_string(linear_id));
  const Linear& lin = linears_[linear_id];
  require(K == (direction == Direction::kForward ? lin.in : lin.out),
          "encrypt: " + std::to_string(K) + " columns do not match linear " +
              std::to_string(linear_id));
  Keys& keys = keys_for(plan.log_n);
  keys.secrets_for(K);
  const uint64_t index = keys.requests++;
  req.request_id = index;
  req.linear_id = linear_id;
  req.direction = direction;
  req.log_n = static_cast<uint8_t>(plan.log_n);
  req.log_q = static_cast<uint8_t>(plan.log_q);
  req.log_q_b_out = static_cast<uint8_t>(plan.log_q_b);
  req.columns = static_cast<uint32_t>(K);
  const BodyColumns out = on_header();  // sized here, before the parallel loop
  // Ternary secrets: ‖s_k‖₂ <= √N. Exact, as the body must be.
  const FftRingMultiplier mask(keys.mask(index, plan.log_q), plan.log_q,
                               std::sqrt(static_cast<double>(N)));
  Seed noise_seed = derive_seed(keys.noise_master, kNoiseContext, index);

  // Column k of the body is a·s_k + e_k + Δ·x[·, k]. Built a tile of columns at a time: x [T, K]
  // is transposed a tile at a time, so that it is read a few cache lines per token rather than
  // with a stride of K, and the tile's noise is drawn in one call; then each column's product is
  // summed limb by limb and its last limb's pass adds noise and message and writes the column out
  // (column_body.h).
  const int threads = omp_get_max_threads();
  const int64_t tile_width = balanced_tile(K, threads, 64);
  const BodyPlan body_plan{plan.log_q, plan.log_delta};
  const int64_t column_bytes = N * plan.log_q / 8;  // N is a multiple of 8: whole bytes
  const int64_t tiles = (K + tile_width - 1) / tile_width, ldx = N + kPad;
  std::exception_ptr failure;
  reserve_scratch(threads);
#pragma omp parallel num_threads(threads)
  {
    ThreadScratch& scratch = scratch_[omp_get_thread_num()];
    grow(scratch.b, N);
    grow(scratch.e, tile_width * N);
    grow(scratch.xt, tile_width * ldx);
    std::vector<uint64_t>& b = scratch.b;
    std::vector<int32_t>& e = scratch.e;
    std::vector<int32_t>& xt = scratch.xt;
#pragma omp for schedule(static)
    for (int64_t tile = 0; tile < tiles; ++tile) {
      const int64_t k0 = tile * tile_width, kn = std::min(tile_width, K - k0);
      try {
        gather_columns(x, T, K, k0, kn, xt.data(), ldx);
        GaussianSampler::standard().sample(noise_seed, k0 * N, kn * N, e.data());
        for (int64_t i = 0; i < kn; ++i) {
          const int32_t* ei = e.data() + i * N;
          const int32_t* xi = xt.data() + i * ldx;
          const int64_t k = k0 + i;
          // Packed: the limbs sum into b and the last pass writes the wire bytes. Unpacked: they
          // sum straight into the request's column.
          uint64_t* sum = out.packed ? b.data() : out.values + k * N;
          mask.multiply_transformed(keys.transformed_for(k), sum,
                                    [&](const LimbSum& limbs, uint64_t* acc) {
                                      if (out.packed)
                                        finish_packed_body(limbs, ei, xi, T, N, body_plan,
                                                           out.packed + k * column_bytes, acc);
                                      else
                                        finish_body(acc, limbs, ei, xi, T, N, body_plan);
                                    });
        }
      } catch (...) {
#pragma omp critical(column_client_failure)
        failure = std::current_exception();
      }
    }
    sodium_memzero(e.data(), e.size() * sizeof(int32_t));
    sodium_memzero(b.data(), b.size() * sizeof(uint64_t));
  }
  wipe(noise_seed);
  if (failure) std::rethrow_exception(failure);
  keys.pending[index] = {linear_id, direction, plan.log_q};
}

template EncryptedRequest ColumnClient::encrypt(const int32_t*, int64_t, int64_t, const ColumnPlan&,
                                                uint32_t, Direction);
template EncryptedRequest ColumnClient::encrypt(const int8_t*, int64_t, int64_t, const ColumnPlan&,
                                                uint32_t, Direction);
template void ColumnClient::encrypt_to_bytes(const int32_t*, int64_t, int64_t, const ColumnPlan&,
                                             uint32_t, Direction, std::vector<uint8_t>&);
template void ColumnClient::encrypt_to_bytes(const int8_t*, int64_t, int64_t, const ColumnPlan&,
                                             uint32_t, Direction, std::vector<uint8_t>&);

void ColumnClient::check_response(bool ok, const std::string& why) {
  if (ok) return;
  rekey();  // never decrypt anything else under secrets a worker may be probing
  throw Error("encrypted product: the worker's response " + why + "; secrets discarded");
}

void ColumnClient::decrypt(const EncryptedResponse& r, const ColumnPlan& plan, int64_t T, int64_t m,
                           int64_t* y, int64_t* residual) {
  const int64_t N = plan.n();
  check_response(r.log_n == plan.log_n && r.log_q_b == plan.log_q_b &&
                     static_cast<int64_t>(r.b.size()) == m * N && r.columns == m,
                 "has " + std::to_string(r.columns) + " columns at log_n " +
                     std::to_string(r.log_n) + ", expected " + std::to_string(m));
  decrypt_columns(r.request_id, plan, T, m, ResponseColumns{.values = r.b.data()}, y, residual);
}

template <class Y>
void ColumnClient::decrypt(const PackedResponse& r, const ColumnPlan& plan, int64_t T, int64_t m,
                           Y* y) {
  const int64_t N = plan.n();
  // view_response() checked the section against the header; a column is N·bits/8 whole bytes.
  check_response(r.log_n == plan.log_n && r.log_q_b == plan.log_q_b && r.columns == m &&
                     static_cast<int64_t>(r.b.size()) == m * N * plan.log_q_b / 8,
                 "has " + std::to_string(r.columns) + " columns at log_n " +
                     std::to_string(r.log_n) + ", expected " + std::to_string(m));
  decrypt_columns(r.request_id, plan, T, m, ResponseColumns{.packed = r.b.data()}, y, nullptr);
}

template <class Y>
void ColumnClient::decrypt_columns(uint64_t request_id, const ColumnPlan& plan, int64_t T,
                                   int64_t m, const ResponseColumns& columns, Y* y,
                                   int64_t* residual) {
  const int64_t N = plan.n();
  require(T >= 1 && T <= N, "decrypt: token count out of range");
  require(sizeof(Y) == 8 || plan.log_q - plan.log_delta <= 32,
          "decrypt: products of " + std::to_string(plan.log_q - plan.log_delta) +
              " bits do not fit an int32 output");
  Keys& keys = keys_for(plan.log_n);
  const auto it = keys.pending.find(request_id);
  check_response(it != keys.pending.end(), "answers request " + std::to_string(request_id) +
                                               ", which is not awaiting an answer");
  const Keys::Pending pending = it->second;
  keys.pending.erase(it);
  const Linear& lin = linears_[pending.linear_id];
  const bool forward = pending.direction == Direction::kForward;
  check_response(pending.log_q == plan.log_q && m == (forward ? lin.out : lin.in),
                 "does not match request " + std::to_string(request_id));

  // s'_j for this weight and direction, computed on first use under these secrets.
  CombinedSecrets& combined = keys.combined[{pending.linear_id, pending.direction}];
  if (combined.empty())
    combined = combined_secrets(lin.wq.data(), lin.out, lin.in, forward,
                                keys.secrets_for(forward ? lin.in : lin.out), N);
  const int32_t* s_wide = combined.wide.data();
  const int16_t* s_narrow = combined.narrow.empty() ? nullptr : combined.narrow.data();
  // The mask's product is only needed to within Δ/16: the plan leaves Δ/2 − Δ/4 (noise) − Δ/8
  // (the worker's rounding) for it, so the product's lowest limb may be wide and approximate.
  const FftRingMultiplier mask(keys.mask(request_id, plan.log_q), plan.log_q, combined.l2_bound,
                               std::ldexp(1.0, plan.log_delta - 4));

  const RoundingPlan rounding{plan.log_q - plan.log_q_b, plan.log_q, plan.log_delta};
  const int64_t packed_bytes = N * plan.log_q_b / 8;  // a packed column: whole bytes
  // Tiles of output columns: their values are gathered per token and written to y [T, m] a few
  // cache lines at a time instead of with a stride of m.
  const int threads = omp_get_max_threads();
  const int64_t tile_width = balanced_tile(m, threads, 64);
  const int64_t tiles = (m + tile_width - 1) / tile_width, ldv = T + kPad;
  std::exception_ptr failure;
  reserve_scratch(threads);
#pragma omp parallel num_threads(threads)
  {
    ThreadScratch& scratch = scratch_[omp_get_thread_num()];
    grow(scratch.b, N);
    grow(scratch.as, N);
    std::vector<Y>& vals = [&]() -> std::vector<Y>& {
      if constexpr (sizeof(Y) == 4)
        return scratch.vals32;
      else
        return scratch.vals;
    }();
    grow(vals, tile_width * ldv);
    if (residual) grow(scratch.errs, tile_width * ldv);
    std::vector<uint64_t>& b = scratch.b;
    std::vector<uint64_t>& as = scratch.as;
    std::vector<int64_t>& errs = scratch.errs;
#pragma omp for schedule(static)
    for (int64_t tile = 0; tile < tiles; ++tile) {
      const int64_t j0 = tile * tile_width, jn = std::min(tile_width, m - j0);
      try {
        for (int64_t i = 0; i < jn; ++i) {
          const int64_t j = j0 + i;
          Y* vi = vals.data() + i * ldv;
          int64_t* erri = residual ? errs.data() + i * ldv : nullptr;
          const auto round = [&](const LimbSum& limbs, uint64_t*) {
            if (columns.packed)
              round_packed_column(columns.packed + j * packed_bytes, plan.log_q_b, limbs, T,
                                  rounding, vi, b.data());
            else
              round_column(columns.values + j * N, limbs, T, rounding, vi, erri);
          };
          if (s_narrow)
            mask.multiply(std::span(s_narrow + j * N, N), as.data(), round);
          else
            mask.multiply(std::span(s_wide + j * N, N), as.data(), round);
        }
      } catch (...) {
#pragma omp critical(column_client_failure)
        failure = std::current_exception();
        continue;
      }
      scatter_columns(vals.data(), ldv, T, jn, y, m, j0);
      if (residual) scatter_columns(errs.data(), ldv, T, jn, residual, m, j0);
    }
    sodium_memzero(as.data(), as.size() * sizeof(uint64_t));
  }
  if (failure) std::rethrow_exception(failure);
}

template void ColumnClient::decrypt(const PackedResponse&, const ColumnPlan&, int64_t, int64_t,
                                    int64_t*);
template void ColumnClient::decrypt(const PackedResponse&, const ColumnPlan&, int64_t, int64_t,
                                    int32_t*);

}  // namespace cipherlora
