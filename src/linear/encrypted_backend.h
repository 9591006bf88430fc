// The `encrypted` linear backend: the quantized backend's integers, computed by a worker on
// ciphertexts (DESIGN.md, "The encrypted matmul: column ciphertexts").
//
// Per call the client quantizes exactly as `quantized` does (quantizer.h), shifts the integers
// to be centred (x = q − 2^(n_bits−1), so |x| <= 2^(n_bits−1)), encrypts them column by column in
// requests of up to N tokens, and decrypts the worker's products. It then adds back the shift's
// share, (2^(n_bits−1) − zp[t])·Σ_k W[k,j], in clear, which gives exactly the quantized backend's
// Σ_k (q − zp)·W, and dequantizes with the same function. Decryption is exact (column_plan.h), so
// the outputs are bit-identical to `quantized`.
//
// This issue runs the worker in the same process (EncryptedSession below), exchanging only
// serialized bytes with it; a networked worker will replace the channel, not the backend.
//
//   auto session = std::make_shared<EncryptedSession>();
//   LinearBackendFactory f = encrypted_backend_factory(/*n_bits=*/8, session);
//   auto qkv = f("layers.0.qkv", std::move(w), 960, 576);
//   qkv->forward(x, T, y);   // x [T, 576] -> y [T, 960], equal to the quantized backend's
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "he/column_client.h"
#include "he/column_worker.h"
#include "linear/linear_backend.h"

namespace cipherlora {

// What a session exchanged, for progress output and benchmarks.
struct EncryptedStats {
  int64_t requests = 0;
  int64_t bytes_sent = 0, bytes_received = 0;    // serialized requests / responses
  int64_t values_sent = 0, values_received = 0;  // plaintext values they carry (T·K, T·m)
  double client_seconds = 0;                     // encrypt + decrypt
  double worker_seconds = 0;  // the worker's handle(), parse and serialize included
};

// The client of one training run (its secrets) and the worker it talks to — here in-process.
class EncryptedSession {
 public:
  EncryptedSession() = default;

  // Hands the worker (and the client, which derives the decryption secrets from it) a frozen
  // linear's int8 weight [out, in]; returns the id requests name.
  uint32_t register_linear(const std::vector<int8_t>& wq, int64_t out, int64_t in);

  // Encrypts x [T, K] (T <= plan.n(); int32_t, or int8_t for 8-bit activations), has the worker
  // multiply, decrypts y [T, m] (int64_t, or int32_t when the plan's products fit 32 bits).
  template <class X, class Y>
  void product(const X* x, int64_t T, int64_t K, int64_t m, const ColumnPlan& plan,
               uint32_t linear_id, Direction direction, Y* y);

  const EncryptedStats& stats() const { return stats_; }

 private:
  ColumnClient client_;
  ColumnWorker worker_;
  EncryptedStats stats_;
  std::vector<uint8_t> request_, response_;  // message buffers reused across products
};

// weight: [out, in] row-major fp32; n_bits as for the quantized backend (2..16; above 8 the
// products need the wide parameter set).
std::unique_ptr<LinearBackend> make_encrypted_backend(const std::string& name,
                                                      std::vector<float> weight, int64_t out,
                                                      int64_t in, int n_bits,
                                                      std::shared_ptr<EncryptedSession> session);

LinearBackendFactory encrypted_backend_factory(int n_bits,
                                               std::shared_ptr<EncryptedSession> session);

}  // namespace cipherlora
