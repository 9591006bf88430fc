// The worker side of the encrypted product: it holds the frozen base's int8 weights and answers
// requests it cannot read. Per request it computes one plain integer product B = [b_1..b_K]·W
// mod 2^log_q (mod2k_gemm.h) of the ciphertext bodies, rounds it to the bits the client asked
// for, and serializes it. No secret, no mask, no ring arithmetic, no keys.
//
// Everything it receives is checked before use: the message format (wire_format.h), that the
// linear exists, that the request's K matches it, and that the parameters pass the security
// table (a client must not be talked into weak parameters, and a worker should not help). Bad
// requests throw Error with a one-line reason; the worker stays usable.
//
//   ColumnWorker worker;
//   uint32_t id = worker.add_linear(std::move(wq), /*out=*/960, /*in=*/576);   // wq [out, in]
//   std::vector<uint8_t> reply = worker.handle(request_bytes);
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "he/mod2k_gemm.h"
#include "he/wire_format.h"
#include "tensor/int8_gemm.h"

namespace cipherlora {

class ColumnWorker {
 public:
  explicit ColumnWorker(Int8Kernel kernel = best_int8_kernel()) : kernel_(kernel) {}

  // Registers a frozen linear with int8 weight [out, in] (Hugging Face layout); returns its id.
  uint32_t add_linear(std::vector<int8_t> wq, int64_t out, int64_t in);

  // Serves one serialized EncryptedRequest; returns the serialized EncryptedResponse.
  std::vector<uint8_t> handle(std::span<const uint8_t> request);
  // The same into `reply`, whose capacity is reused. The worker also keeps its parsed request and
  // unpacked response between calls, so a steady stream of requests touches no fresh pages.
  // Not for concurrent use (one worker object per serving thread).
  void handle(std::span<const uint8_t> request, std::vector<uint8_t>& reply);

  // The same on parsed messages (benchmarks and in-process use skip no check by calling this:
  // handle() = parse + serve + serialize).
  EncryptedResponse serve(const EncryptedRequest& request);

 private:
  void serve_into(const EncryptedRequest& request, EncryptedResponse& response);

  // The weight prepared once for each direction (the worker keeps its weights resident).
  struct Linear {
    int64_t out = 0, in = 0;
    std::unique_ptr<Mod2kWeights> forward;   // op(W) = Wᵀ  [in, out]
    std::unique_ptr<Mod2kWeights> backward;  // op(W) = W   [out, in]
  };
  Int8Kernel kernel_;
  std::vector<Linear> linears_;
  EncryptedRequest request_;    // reused by handle()
  EncryptedResponse response_;  // reused by handle()
};

}  // namespace cipherlora
