// Exact negacyclic products a·s mod (x^N + 1, 2^log_q) with one ternary secret s, the client's
// inner loop in the RLWE backend (thousands of products per request). 2^log_q has no NTT, so the
// product is computed over the integers: a's coefficients are read centered, as log_q-bit two's
// complement values in [-2^(log_q-1), 2^(log_q-1)), which bounds every coefficient of a·s by
// N·2^(log_q-1) in magnitude. Modulo NTT primes whose product P exceeds N·2^log_q the centered
// residue is that integer, and reducing it mod 2^log_q gives the answer. The fewest such primes
// are used: with the IFMA kernel's ~50-bit primes at N = 2048, one up to log_q = 38 and two up to
// 64 (two cover every log_q <= 64 for N <= 2^15); the portable kernel's ~62-bit primes need one up
// to log_q = 50. The bound uses N, not s's weight, so the prime count (and the time) does not
// depend on the secret.
//
//   TernaryRingMultiplier mul(s, /*max_log_q=*/47);      // s: [N] in {-1, 0, 1}
//   mul.multiply(a, 47, out);                             // a, out: [N]
//   mul.multiply_many(as, count, 47, outs);               // [count][N], OpenMP over count
//
// NTT(s) per prime and all scratch that held secret-derived values live in the object and are
// wiped when it is destroyed.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "he/ntt.h"

namespace cipherlora {

class TernaryRingMultiplier {
 public:
  // s: [N] coefficients in {-1, 0, 1}, N a power of two in 2^10..2^15. max_log_q: the largest
  // log_q that multiply() will be called with (1..64). Error otherwise, or kIfma without the CPU.
  TernaryRingMultiplier(std::span<const int8_t> s, int max_log_q,
                        NttKernel kernel = NttKernel::kBest);
  ~TernaryRingMultiplier();
  TernaryRingMultiplier(TernaryRingMultiplier&&) noexcept;
  TernaryRingMultiplier& operator=(TernaryRingMultiplier&&) noexcept;

  int64_t degree() const;  // N
  int max_log_q() const;
  NttKernel kernel() const;  // kPortable or kIfma
  // How many NTT primes a product at this log_q (1..max_log_q) uses.
  int prime_count(int log_q) const;

  // out[N] = a[N] · s mod (x^N + 1, 2^log_q); a in [0, 2^log_q) (higher bits are ignored).
  // 1 <= log_q <= max_log_q, else Error. Thread-safe; out may be a (in place).
  void multiply(const uint64_t* a, int log_q, uint64_t* out) const;
  // a: [count][N] -> out: [count][N], OpenMP-parallel over polynomials (num_threads() threads
  // when called outside a parallel region).
  void multiply_many(const uint64_t* a, int64_t count, int log_q, uint64_t* out) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The general form, for the per-request mask of the column ciphertexts (column_client.h): a fixed
// multiplicand f with |f_i| <= 2^fixed_bits (given mod 2^log_q and read centered, or as signed
// integers) times operands v with |v_i| <= 2^operand_bits, every result exact mod 2^log_q. The
// fewest primes with P > 2·N·2^(fixed_bits + operand_bits) are used (one or two; Error beyond).
//
//   RingMultiplier mul(mask, /*log_q=*/47, /*operand_bits=*/20);   // mask: [N] < 2^47
//   mul.multiply(v, out);   // v: [N] log_q-bit two's complement, |v| <= 2^20; out: [N]
class RingMultiplier {
 public:
  // fixed: [N] values mod 2^log_q, read as log_q-bit two's complement (fixed_bits = log_q − 1).
  RingMultiplier(std::span<const uint64_t> fixed, int log_q, int operand_bits,
                 NttKernel kernel = NttKernel::kBest);
  ~RingMultiplier();
  RingMultiplier(RingMultiplier&&) noexcept;
  RingMultiplier& operator=(RingMultiplier&&) noexcept;

  int64_t degree() const;
  int log_q() const;
  int prime_count() const;
  // out[N] = v[N] · fixed mod (x^N + 1, 2^log_q); v log_q-bit two's complement within the operand
  // bound (not checked: the bound is the caller's invariant). Thread-safe; out may be v.
  void multiply(const uint64_t* v, uint64_t* out) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cipherlora
