// The RLWE secret: a polynomial of degree < N with coefficients uniform in {-1, 0, 1}, the
// distribution the security table assumes (security.h).
//
// A fresh secret is drawn for every training run from a seed of libsodium's CSPRNG; it lives only
// in the client's memory (never logged, never serialized) and is wiped when the object dies.
// Drawing from an explicit seed exists for known-answer tests: keystream bytes (aes_ctr.h) are
// read in order; a byte b < 255 gives coefficient (b mod 3) − 1, a byte 255 is skipped so that
// the three values stay exactly equally likely.
//
//   TernarySecret s = TernarySecret::fresh(/*log_n=*/11);
//   std::span<const int8_t> coeffs = s.coefficients();   // [N]
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "he/seed.h"

namespace cipherlora {

class TernarySecret {
 public:
  // A new secret from the CSPRNG.
  static TernarySecret fresh(int log_n);
  // The secret a given seed defines (tests and known answers).
  static TernarySecret from_seed(const Seed& seed, int log_n);

  TernarySecret(TernarySecret&&) = default;
  TernarySecret& operator=(TernarySecret&&) = default;
  TernarySecret(const TernarySecret&) = delete;
  TernarySecret& operator=(const TernarySecret&) = delete;
  ~TernarySecret();

  int log_n() const { return log_n_; }
  std::span<const int8_t> coefficients() const { return coeffs_; }  // [N]

 private:
  TernarySecret(int log_n, std::vector<int8_t> coeffs)
      : log_n_(log_n), coeffs_(std::move(coeffs)) {}
  int log_n_;
  std::vector<int8_t> coeffs_;
};

}  // namespace cipherlora
