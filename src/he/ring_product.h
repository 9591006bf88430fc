// Exact negacyclic products f·v mod (x^N + 1, 2^log_q) of a fixed multiplicand f by many
// operands v: the client's inner loop in the RLWE backend (thousands of products per request).
// 2^log_q has no NTT, so each product is computed over the integers: with |f_i| <= 2^fixed_bits
// and |v_i| <= 2^operand_bits every coefficient of f·v is bounded by N·2^(fixed_bits +
// operand_bits), and modulo NTT primes whose product P exceeds twice that the centered residue is
// the integer itself; reduced mod 2^log_q it is the answer. The fewest such primes are used (one
// or two: the IFMA kernel's primes are just below 2^50, the portable kernel's below 2^62), and the
// count depends only on the bounds, never on the values, so a product's time says nothing about a
// secret.
//
// Two kinds of fixed multiplicand:
//   - a log_q-bit value read as two's complement (the request's mask; fixed_bits = log_q − 1),
//     times operands bounded by operand_bits (a secret: 0; a combined secret: its bound);
//   - a ternary secret (fixed_bits = 0) times any log_q-bit operand (operand_bits = log_q − 1).
//
//   RingMultiplier mul(mask, /*log_q=*/47, /*operand_bits=*/20);   // mask: [N] < 2^47
//   mul.multiply(v, out);   // v: [N] 47-bit two's complement, |v| <= 2^20; out: [N]
//
// An operand used with many multiplicands (a secret, with every request's mask) can be
// transformed once and multiplied from its transformed form, which skips its forward NTTs:
//
//   std::vector<uint64_t> tr(RingMultiplier::transformed_words(N));
//   RingMultiplier::transform_operand(secret, NttKernel::kBest, tr.data());   // secret: [N] int8
//   mul.multiply_transformed(tr.data(), out);   // == mul.multiply(secret as 47-bit values, out)
//
// Everything derived from f and all scratch live in the object and are wiped when it goes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "he/ntt.h"

namespace cipherlora {

class RingMultiplier {
 public:
  // fixed: [N] values mod 2^log_q, read as log_q-bit two's complement; operands |v| <=
  // 2^operand_bits. N a power of two in 2^10..2^15, 2 <= log_q <= 64, 0 <= operand_bits < log_q,
  // and two primes must suffice; Error otherwise, or for kIfma without the CPU.
  RingMultiplier(std::span<const uint64_t> fixed, int log_q, int operand_bits,
                 NttKernel kernel = NttKernel::kBest);
  // fixed: [N] in {-1, 0, 1} (checked); operands any log_q-bit values, 1 <= log_q <= 64.
  RingMultiplier(std::span<const int8_t> ternary, int log_q, NttKernel kernel = NttKernel::kBest);
  ~RingMultiplier();
  RingMultiplier(RingMultiplier&&) noexcept;
  RingMultiplier& operator=(RingMultiplier&&) noexcept;

  int64_t degree() const;  // N
  int log_q() const;
  int prime_count() const;   // 1 or 2
  NttKernel kernel() const;  // kPortable or kIfma

  // out[N] = v[N] · fixed mod (x^N + 1, 2^log_q); v log_q-bit two's complement (bits above log_q
  // ignored) within the operand bound (not checked: the bound is the caller's invariant).
  // Thread-safe; out may be v.
  void multiply(const uint64_t* v, uint64_t* out) const;

  // The transformed form of an operand: [2][N] words, its forward transform modulo both primes
  // of the kernel for degree N (a one-prime product uses the first half). v: [N] signed values.
  static int64_t transformed_words(int64_t n) { return 2 * n; }
  static void transform_operand(std::span<const int8_t> v, NttKernel kernel, uint64_t* tr);
  static void transform_operand(std::span<const int32_t> v, NttKernel kernel, uint64_t* tr);
  // out[N] = multiply(v) for tr = transform_operand(v) with the same kernel (the caller's
  // invariant, like the operand bound). Thread-safe.
  void multiply_transformed(const uint64_t* tr, uint64_t* out) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cipherlora
