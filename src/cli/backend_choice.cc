#include "cli/backend_choice.h"

#include <cstdio>

#include "common/error.h"
#include "linear/clear_backend.h"
#include "linear/quantized_backend.h"

namespace cipherlora {

BackendChoice choose_backend(const std::string& mode, int n_bits, Precision precision) {
  BackendChoice c;
  c.mode = mode;
  if (mode == "clear") {
    c.factory = clear_backend_factory(precision);
  } else if (mode == "quantized") {
    c.factory = quantized_backend_factory(n_bits);
  } else if (mode == "encrypted") {
    c.session = std::make_shared<EncryptedSession>();
    c.factory = encrypted_backend_factory(n_bits, c.session);
  } else {
    throw Error("--mode " + mode + " is unknown (expected clear, quantized or encrypted)");
  }
  return c;
}

void print_backend_summary(const BackendChoice& c) {
  if (!c.session) return;
  const EncryptedStats& s = c.session->stats();
  if (s.requests == 0) return;
  // fp16 of the same values is the yardstick the design's compression targets use.
  const double in_ratio = s.bytes_sent / (2.0 * static_cast<double>(s.values_sent));
  const double out_ratio = s.bytes_received / (2.0 * static_cast<double>(s.values_received));
  std::fprintf(stderr,
               "encrypted: %lld requests, sent %.1f MB (%.2fx fp16), received %.1f MB (%.2fx "
               "fp16), worker %.1f s, client %.1f s\n",
               static_cast<long long>(s.requests), s.bytes_sent / 1e6, in_ratio,
               s.bytes_received / 1e6, out_ratio, s.worker_seconds, s.client_seconds);
}

}  // namespace cipherlora
