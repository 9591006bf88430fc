// The masks a_k of the column ciphertexts, expanded from the request's 32-byte seed so that only
// the seed travels (DESIGN.md, "Compression"). Client and worker must expand identically.
//
// Definition: the masks of a request with K columns over N coefficients form one [K][N] array
// of coefficients mod 2^log_q; coefficient i (= k·N + n) is the little-endian uint64 at byte
// offset 8·i of the AES-256-CTR keystream keyed by the seed (aes_ctr.h), reduced mod 2^log_q
// (its low log_q bits). Each is uniform in [0, 2^log_q) because the keystream is.
//
//   std::vector<uint64_t> a(K * N);
//   expand_masks(seed, /*log_q=*/47, /*first=*/0, a.size(), a.data());   // a [K][N]
#pragma once

#include <cstdint>

#include "he/seed.h"

namespace cipherlora {

// out[0, count) = mask coefficients [first, first + count) mod 2^log_q (log_q in 1..64).
// Splits large ranges over num_threads() threads when called outside a parallel region.
void expand_masks(const Seed& seed, int log_q, uint64_t first, uint64_t count, uint64_t* out);

}  // namespace cipherlora
