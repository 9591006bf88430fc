// The client side of the encrypted product (DESIGN.md, "The encrypted matmul: column
// ciphertexts"): it owns the training run's secrets, encrypts integer matrices column by column,
// and decrypts what the worker returns. The worker never sees a secret, the noise or a mask.
//
// For x [T, K] (T <= N tokens, |x| <= the plan's x_bound), column k becomes
//     b_k = a·s_k + e_k + Δ·x[·, k]   in Z_{2^log_q}[X]/(X^N + 1)
// Every column of one request shares the mask a, drawn fresh for the request; each column index
// k has its own ternary secret s_k, fixed for the run. Seen from any one secret this is ordinary
// RLWE (a fresh uniform mask per sample); the secrets sharing a mask form the matrix form of
// RLWE (docs/SECURITY.md). Tokens sit on the coefficients; tokens T..N-1 are zero. The worker's
// B_j = Σ_k W[k,j]·b_k = a·s'_j + Σ_k W[k,j]·e_k + Δ·Y_j with s'_j = Σ_k W[k,j]·s_k, so the
// client decrypts with the combined secrets s'_j (combined_secret.h), computed once per weight:
// the worker does one integer product instead of two, and neither a mask nor its product travels.
//
// Randomness: the secrets, the masks and the noise come from three masters drawn from the CSPRNG
// when the client is built (one client per training run) through the KDF (seed.h): secret k from
// index k, the mask and noise of request r from index r. The request counter never repeats, so
// no mask is used twice under the secrets. After a response fails a check the client discards
// everything (re-keys) so that a worker probing with crafted responses learns nothing it can
// connect to later results (DESIGN.md, "Integrity").
//
//   ColumnClient client;
//   uint32_t id = client.add_linear(wq, out, in);     // the same weight the worker holds
//   EncryptedRequest req = client.encrypt(x, T, K, plan, id, Direction::kForward);
//   EncryptedResponse resp = parse_response(worker.handle(serialize(req)));
//   client.decrypt(resp, plan, T, m, y);   // y [T, m] int64
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "he/column_plan.h"
#include "he/wire_format.h"

namespace cipherlora {

class ColumnClient {
 public:
  ColumnClient();
  ~ColumnClient();
  ColumnClient(const ColumnClient&) = delete;
  ColumnClient& operator=(const ColumnClient&) = delete;

  // Registers a frozen linear's int8 weight [out, in], the one the worker multiplies by; ids
  // count from 0 in registration order, as the worker's do.
  uint32_t add_linear(std::vector<int8_t> wq, int64_t out, int64_t in);

  // x: [T, K] row-major, |x| within the plan's bound (not checked here: the backend guarantees
  // it by construction). T in 1..N; K must match the linear and direction. X is int32_t, or
  // int8_t for 8-bit activations (a quarter of the bytes to read).
  template <class X>
  EncryptedRequest encrypt(const X* x, int64_t T, int64_t K, const ColumnPlan& plan,
                           uint32_t linear_id, Direction direction);

  // The same request serialized (what travels): the body is packed column by column as it is
  // encrypted, never held unpacked. Equal to serialize(encrypt(...)) for the same secrets and
  // request counter.
  std::vector<uint8_t> encrypt_to_bytes(const int32_t* x, int64_t T, int64_t K,
                                        const ColumnPlan& plan, uint32_t linear_id,
                                        Direction direction);
  // The same into `message`, whose capacity is reused from request to request.
  template <class X>
  void encrypt_to_bytes(const X* x, int64_t T, int64_t K, const ColumnPlan& plan,
                        uint32_t linear_id, Direction direction, std::vector<uint8_t>& message);

  // y: [T, m] row-major, the exact integer product. Throws Error when the response does not
  // answer a request of this client still awaiting its answer, or lacks the shape and moduli the
  // plan asked for; the client then re-keys. residual [T, m] (optional, for noise measurements):
  // the decrypted phase minus Δ·y, the total error the plan bounds by 3Δ/8.
  void decrypt(const EncryptedResponse& response, const ColumnPlan& plan, int64_t T, int64_t m,
               int64_t* y, int64_t* residual = nullptr);

  // The same from a serialized response left packed (view_response): the coefficients are read in
  // place as they are rounded (column_rounding.h), so the response is never expanded in memory.
  // Y is int64_t, or int32_t when the
  // plan's products fit 32 bits (log_q − log_delta <= 32; else Error): half the bytes to write.
  template <class Y>
  void decrypt(const PackedResponse& response, const ColumnPlan& plan, int64_t T, int64_t m, Y* y);

  // How many times the client has discarded its secrets after a bad response.
  int rekeys() const { return rekeys_; }

 private:
  struct Keys;
  struct ThreadScratch;  // one per OpenMP thread, kept between calls (column_client.cc)
  struct Linear {
    int64_t out = 0, in = 0;
    std::vector<int8_t> wq;  // [out, in]
  };
  // Where column j of the worker's B comes from: values [m][N] (a parsed response), or the packed
  // bytes [m][N·bits/8] of a serialized one, read in place.
  struct ResponseColumns {
    const uint64_t* values = nullptr;
    const uint8_t* packed = nullptr;
  };
  // Where column k of the body goes: values [K][N] (encrypt()), or packed bytes
  // [K][N·log_q/8] (the wire form, written in place).
  struct BodyColumns {
    uint64_t* values = nullptr;
    uint8_t* packed = nullptr;
  };
  // Fills header's fields, calls on_header() once (the header is complete: it sizes the storage
  // and says where the body goes), then writes every column of the body there.
  template <class X>
  void encrypt_columns(const X* x, int64_t T, int64_t K, const ColumnPlan& plan, uint32_t linear_id,
                       Direction direction, EncryptedRequest& header,
                       const std::function<BodyColumns()>& on_header);
  Keys& keys_for(int log_n);
  void check_response(bool ok, const std::string& why);
  template <class Y>
  void decrypt_columns(uint64_t request_id, const ColumnPlan& plan, int64_t T, int64_t m,
                       const ResponseColumns& columns, Y* y, int64_t* residual);
  void rekey();

  std::vector<Linear> linears_;
  std::map<int, std::unique_ptr<Keys>> keys_;  // by log_n
  int rekeys_ = 0;
  std::vector<ThreadScratch> scratch_;
  void reserve_scratch(int threads);  // scratch_ for at least `threads` threads
};

}  // namespace cipherlora
