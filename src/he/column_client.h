// The client side of the encrypted product (DESIGN.md, "The encrypted matmul: column
// ciphertexts"): it owns the training run's secret, encrypts integer matrices column by column,
// and decrypts what the worker returns. The worker never sees the secret, the noise or a mask
// seed twice.
//
// For x [T, K] (T <= N tokens, |x| <= the plan's x_bound), column k becomes
//     b_k = a_k·s + e_k + Δ·x[·, k]   in Z_{2^log_q}[X]/(X^N + 1)
// with a_k expanded from the request's mask seed (mask_expansion.h), e_k discrete Gaussian
// (gaussian_sampler.h). Tokens sit on the coefficients; tokens T..N-1 are zero. Decrypting output
// column j recovers Y[t, j] = Σ_k x[t,k]·W[k,j] exactly when the plan's bounds hold.
//
// Secrets: one ternary secret per ring degree, drawn fresh from the CSPRNG when the client is
// built (one client per training run). Mask seeds come from a random master and a request
// counter through the KDF (seed.h), so no seed repeats under one secret; noise seeds come from a
// second master that never leaves the client. After a response fails a check, the client discards
// its secrets (re-keys) so that a worker probing with crafted responses learns nothing it can
// connect to later results (DESIGN.md, "Integrity").
//
//   ColumnClient client;
//   EncryptedRequest req = client.encrypt(x, T, K, plan, linear_id, Direction::kForward);
//   EncryptedResponse resp = parse_response(worker.handle(serialize(req)));
//   client.decrypt(resp, plan, T, m, y);   // y [T, m] int64
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "he/column_plan.h"
#include "he/wire_format.h"

namespace cipherlora {

class ColumnClient {
 public:
  ColumnClient();
  ~ColumnClient();
  ColumnClient(const ColumnClient&) = delete;
  ColumnClient& operator=(const ColumnClient&) = delete;

  // x: [T, K] row-major, |x| within the plan's bound (not checked here: the backend guarantees
  // it by construction). T in 1..N.
  EncryptedRequest encrypt(const int32_t* x, int64_t T, int64_t K, const ColumnPlan& plan,
                           uint32_t linear_id, Direction direction);

  // The same request serialized (what travels): the body is packed tile by tile as it is
  // encrypted, never held unpacked. Equal to serialize(encrypt(...)) for the same secrets and
  // request counter.
  std::vector<uint8_t> encrypt_to_bytes(const int32_t* x, int64_t T, int64_t K,
                                        const ColumnPlan& plan, uint32_t linear_id,
                                        Direction direction);

  // y: [T, m] row-major, the exact integer product. Throws Error when the response does not have
  // the shape and moduli the plan asked for; the client then re-keys before its next request.
  // residual [T, m] (optional, for noise measurements): the decrypted phase minus Δ·y, i.e. the
  // total error E_j the plan bounds by 3Δ/8.
  void decrypt(const EncryptedResponse& response, const ColumnPlan& plan, int64_t T, int64_t m,
               int64_t* y, int64_t* residual = nullptr);

  // The same from a serialized response left packed (view_response): columns are unpacked one at
  // a time, so the whole response is never expanded in memory.
  void decrypt(const PackedResponse& response, const ColumnPlan& plan, int64_t T, int64_t m,
               int64_t* y);

  // How many times the client has discarded its secrets after a bad response.
  int rekeys() const { return rekeys_; }

 private:
  struct Keys;
  using FetchColumn = std::function<void(int64_t j, uint64_t* b, uint64_t* a)>;  // b, a [N]
  // Fills header's fields, calls on_header() once (the header is complete; size storage there),
  // then sink(k0, kn, tile) for columns [k0, k0 + kn) of the body, tile [kn][N], concurrently
  // from the encryption threads.
  using TileSink = std::function<void(int64_t k0, int64_t kn, const uint64_t* tile)>;
  void encrypt_columns(const int32_t* x, int64_t T, int64_t K, const ColumnPlan& plan,
                       uint32_t linear_id, Direction direction, EncryptedRequest& header,
                       const TileSink& sink, const std::function<void()>& on_header);
  Keys& keys_for(int log_n);
  void check_response(bool ok, uint32_t columns, int64_t m);
  void decrypt_columns(const ColumnPlan& plan, int64_t T, int64_t m, const FetchColumn& fetch,
                       int64_t* y, int64_t* residual);
  void rekey();

  std::map<int, std::unique_ptr<Keys>> keys_;  // by log_n
  int rekeys_ = 0;
};

}  // namespace cipherlora
