#include "he/seed.h"

#include <sodium.h>

#include "common/error.h"

namespace cipherlora {
namespace {

void init_sodium() {
  static const int status = sodium_init();  // 0 = initialised now, 1 = already; -1 = failure
  require(status >= 0, "libsodium failed to initialise (no system randomness?)");
}

}  // namespace

Seed random_seed() {
  init_sodium();
  Seed s;
  randombytes_buf(s.bytes.data(), s.bytes.size());
  return s;
}

Seed derive_seed(const Seed& master, const char (&context)[9], uint64_t index) {
  static_assert(crypto_kdf_KEYBYTES == 32 && crypto_kdf_CONTEXTBYTES == 8);
  init_sodium();
  Seed out;
  const int rc = crypto_kdf_derive_from_key(out.bytes.data(), out.bytes.size(), index, context,
                                            master.bytes.data());
  require(rc == 0, "seed derivation failed");
  return out;
}

void wipe(Seed& seed) {
  sodium_memzero(seed.bytes.data(), seed.bytes.size());
}

}  // namespace cipherlora
