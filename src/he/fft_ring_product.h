// Products f·v mod (x^N + 1, 2^log_q) of a fixed multiplicand f (the request's mask, log_q bits)
// by many small operands v (secrets, combined secrets), through the floating-point transform of
// negacyclic_fft.h: the client's ring products. f is split into limbs f = Σ_l f_l·2^o_l (balanced
// digits); each limb's product f_l·v has integer coefficients, and the transform computes it to
// within ‖f_l‖₂·‖v‖₂·kFftErrorBound, so rounding gives it exactly while that is below 1/4. The
// results are summed mod 2^log_q in 64-bit integers.
//
// Exact or within a tolerance. An exact product (encryption: the body must be exactly
// a·s + e + Δx) uses limbs narrow enough for every one to round exactly. A decryption only needs
// the mask's product to within a fraction of Δ (the rest of Δ/2 is the noise's and the worker's
// rounding's), so the lowest limb may be wide and only approximate, and the limbs above it exact:
// two limbs instead of four for K = 4096.
//
//   FftRingMultiplier mask(a, /*log_q=*/47, /*operand_l2=*/std::sqrt(2048.0), /*tolerance=*/0);
//   mask.multiply(s, out);   // s: [N] int32 with ‖s‖₂ <= operand_l2; out: [N] mod 2^47, exact
//
// The limb split depends only on log_q, N, the operand bound and the tolerance, never on the
// values, so a product's time says nothing about them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

namespace cipherlora {

// The nearest integer to a limb product's coefficient c (within 2^62 of zero), half away from zero
// by truncation after ±0.5: exact for the values that matter (within 1/4 of an integer and below
// 2^51, or so large that every double is an integer). Shared by the fused last-limb passes.
inline int64_t round_limb(double c) {
  return static_cast<int64_t>(c + (c < 0 ? -0.5 : 0.5));
}

// A product as the limbs leave it, for a pass that rounds and sums it as it reads: the last limb's
// unrounded product, the one before it's (with two or more limbs), and the sum of the limbs below
// those (with three or more). Coefficient j of the product is, mod 2^64,
//   lower[j] + round_limb(prev[j])·2^prev_offset + round_limb(prod[j])·2^offset
// with an absent term taken as 0. With the usual one or two limbs nothing is summed in a pass of
// its own.
struct LimbSum {
  const double* prod = nullptr;  // [N]
  int offset = 0;
  const double* prev = nullptr;  // [N] or nullptr
  int prev_offset = 0;
  const uint64_t* lower = nullptr;  // [N] or nullptr

  uint64_t at(int64_t j) const {
    uint64_t v = static_cast<uint64_t>(round_limb(prod[j])) << offset;
    if (prev) v += static_cast<uint64_t>(round_limb(prev[j])) << prev_offset;
    if (lower) v += lower[j];
    return v;
  }
};

class FftRingMultiplier {
 public:
  // kLeaveHighBits: out is the product mod 2^64, whose low log_q bits are the result, for callers
  // that reduce mod 2^log_q in their own next pass anyway (it saves one pass over out).
  enum class Reduce { kModQ, kLeaveHighBits };

  // fixed: [N] values mod 2^log_q, read as log_q-bit two's complement; N a power of two in
  // 2^10..2^15, 2 <= log_q <= 64. operand_l2: a bound on ‖v‖₂ of every operand. tolerance: the
  // largest error allowed in an output coefficient (as a centred value mod 2^log_q); 0 = exact.
  // Error when the bounds leave no valid split.
  FftRingMultiplier(std::span<const uint64_t> fixed, int log_q, double operand_l2,
                    double tolerance = 0);
  ~FftRingMultiplier();
  FftRingMultiplier(FftRingMultiplier&&) noexcept;
  FftRingMultiplier& operator=(FftRingMultiplier&&) noexcept;

  int64_t degree() const;  // N
  int limbs() const;
  bool exact() const;  // tolerance == 0

  // out[N] = v[N] · fixed mod (x^N + 1, 2^log_q). v within the operand bound (not checked: the
  // caller's invariant, like the RingMultiplier's operand bits); int16 for operands that fit it
  // (half the bytes to read). Thread-safe.
  void multiply(std::span<const int32_t> v, uint64_t* out, Reduce reduce = Reduce::kModQ) const;
  void multiply(std::span<const int16_t> v, uint64_t* out, Reduce reduce = Reduce::kModQ) const;

  // An operand's transformed form, N doubles, for an operand used with many multiplicands (a
  // secret, with every request's mask): skips its forward transform.
  static int64_t transformed_words(int64_t n) { return n; }
  static void transform_operand(std::span<const int8_t> v, double* tr);
  static void transform_operand(std::span<const int32_t> v, double* tr);
  void multiply_transformed(const double* tr, uint64_t* out, Reduce reduce = Reduce::kModQ) const;

  // The same with the sum's last step handed to the caller, who folds its own pass over the result
  // into it (encryption adds noise and message, decryption rounds to the plaintext): last(sum,
  // out) must leave sum.at(j) mod 2^log_q in out[j] [N] (sum.lower, if any, is out itself).
  using LastLimb = std::function<void(const LimbSum& sum, uint64_t* out)>;
  void multiply_transformed(const double* tr, uint64_t* out, const LastLimb& last) const;
  void multiply(std::span<const int32_t> v, uint64_t* out, const LastLimb& last) const;
  void multiply(std::span<const int16_t> v, uint64_t* out, const LastLimb& last) const;

 private:
  struct State;
  LastLimb summing(Reduce reduce) const;
  template <class T>
  void multiply_signed(std::span<const T> v, uint64_t* out, const LastLimb& last) const;
  void sum_limbs(const double* tr, double* prods, uint64_t* out, const LastLimb& last) const;
  std::unique_ptr<State> state_;
};

}  // namespace cipherlora
