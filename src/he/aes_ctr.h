// The keystream of AES-256 in counter mode (NIST SP 800-38A): the pseudorandom generator that
// expands a 32-byte seed into masks, noise and secrets. Intel's multi-buffer crypto library
// (intel-ipsec-mb) runs it where the build found it: VAES, 16 GB/s per core here; otherwise
// OpenSSL's libcrypto (AES-NI, 7 GB/s here; OpenSSL 3.0 has no VAES path for CTR). Both give the
// same stream, which the tests check.
//
// The counter block is a 128-bit big-endian integer incremented once per 16-byte block, so byte
// offset o of the stream starting at counter c is byte o % 16 of AES_k(c + o / 16). Any range of
// the stream can therefore be produced on its own, which lets threads split one stream.
//
//   aes256_ctr_keystream(seed, /*first_block=*/0, out.data(), out.size());
#pragma once

#include <cstdint>

#include "he/seed.h"

namespace cipherlora {

// out[0, len) = keystream bytes [16·first_block, 16·first_block + len) under key `key` with the
// initial counter block zero (counter c is the 16-byte big-endian encoding of c).
void aes256_ctr_keystream(const Seed& key, uint64_t first_block, uint8_t* out, uint64_t len);

// out[0, count) = the stream read as little-endian 64-bit words [first, first + count): word i is
// bytes [8i, 8i + 8) of the stream from counter zero. Masks and noise both draw from it.
void aes256_ctr_words(const Seed& key, uint64_t first, uint64_t count, uint64_t* out);

// kBest: intel-ipsec-mb when built with it, else OpenSSL; kOpenSsl: OpenSSL always (tests).
enum class AesBackend { kBest, kOpenSsl };

// The same stream from an arbitrary 16-byte initial counter block (big-endian); for known-answer
// tests against NIST's vectors, which start at f0f1..ff.
void aes256_ctr_keystream_from(const Seed& key, const uint8_t (&counter)[16], uint8_t* out,
                               uint64_t len, AesBackend backend = AesBackend::kBest);

}  // namespace cipherlora
