#include "he/ternary_secret.h"

#include <sodium.h>

#include <string>

#include "common/error.h"
#include "he/aes_ctr.h"

namespace cipherlora {

TernarySecret TernarySecret::from_seed(const Seed& seed, int log_n) {
  require(log_n >= 1 && log_n <= 16,
          "ternary secret: log_n " + std::to_string(log_n) + " out of range");
  const int64_t N = int64_t{1} << log_n;
  std::vector<int8_t> coeffs(N);
  // Rejection keeps the distribution exact; 255 appears with probability 1/256, so 2N + 64 bytes
  // suffice except with negligible probability — but the loop keeps reading if not.
  std::vector<uint8_t> bytes((N + N / 4 + 64 + 15) / 16 * 16);  // whole AES blocks
  uint64_t block = 0;
  int64_t filled = 0;
  while (filled < N) {
    aes256_ctr_keystream(seed, block, bytes.data(), bytes.size());
    block += bytes.size() / 16;
    for (size_t i = 0; i < bytes.size() && filled < N; ++i)
      if (bytes[i] != 255) coeffs[filled++] = static_cast<int8_t>(bytes[i] % 3) - 1;
  }
  sodium_memzero(bytes.data(), bytes.size());
  return TernarySecret(log_n, std::move(coeffs));
}

TernarySecret TernarySecret::fresh(int log_n) {
  Seed seed = random_seed();
  TernarySecret s = from_seed(seed, log_n);
  wipe(seed);
  return s;
}

TernarySecret::~TernarySecret() {
  if (!coeffs_.empty()) sodium_memzero(coeffs_.data(), coeffs_.size());
}

}  // namespace cipherlora
