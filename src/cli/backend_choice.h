// `--mode clear|quantized|encrypted`: the linear backend a command runs, shared by train and eval.
// For `encrypted` it also owns the session (the run's secrets and, in this version, the in-process
// worker) so that the command can report what travelled.
//
//   BackendChoice b = choose_backend("encrypted", /*n_bits=*/8);
//   ModelSession s = open_model_session(model, "", true, b.factory);
//   ...
//   print_backend_summary(b);   // requests, bytes per value, worker and client time
#pragma once

#include <memory>
#include <string>

#include "linear/encrypted_backend.h"
#include "linear/linear_backend.h"
#include "linear/precision.h"

namespace cipherlora {

struct BackendChoice {
  std::string mode;
  LinearBackendFactory factory;
  std::shared_ptr<EncryptedSession> session;  // encrypted mode only
};

// Throws Error for an unknown mode or an n_bits out of range. `precision` applies to clear mode.
BackendChoice choose_backend(const std::string& mode, int n_bits,
                             Precision precision = Precision::fp32);

// One stderr line for encrypted mode; nothing otherwise.
void print_backend_summary(const BackendChoice& choice);

}  // namespace cipherlora
