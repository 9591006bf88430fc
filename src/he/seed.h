// 32-byte seeds: where the randomness of a training run's secrets comes from, and how per-request
// seeds are derived so that none repeats.
//
// Fresh seeds come from libsodium's CSPRNG (randombytes_buf). A request's mask seed is derived
// from a per-run master seed and the request's counter with libsodium's KDF (BLAKE2b keyed by the
// master, the counter as subkey id): distinct counters give independent-looking seeds, so as long
// as the counter never repeats under one secret, no mask seed is used twice (DESIGN.md, "The
// encrypted matmul"). Each use has its own 8-character context, so a noise seed can never equal
// the mask seed of the same counter.
//
//   Seed master = random_seed();
//   Seed s0 = derive_seed(master, kMaskContext, 0), s1 = derive_seed(master, kMaskContext, 1);
#pragma once

#include <array>
#include <cstdint>

namespace cipherlora {

struct Seed {
  std::array<uint8_t, 32> bytes{};
  bool operator==(const Seed&) const = default;
};

// KDF contexts: exactly 8 characters each (libsodium's crypto_kdf_CONTEXTBYTES).
inline constexpr char kMaskContext[9] = "clr-mask";
inline constexpr char kNoiseContext[9] = "clr-nois";
inline constexpr char kSecretContext[9] = "clr-skey";

// 32 bytes from the operating system's CSPRNG (via libsodium). Throws Error if libsodium cannot
// initialise.
Seed random_seed();

// The subkey of `master` for (context, index).
Seed derive_seed(const Seed& master, const char (&context)[9], uint64_t index);

// Overwrites a seed with zeros in a way the compiler cannot drop.
void wipe(Seed& seed);

}  // namespace cipherlora
