// Negacyclic number-theoretic transform over Z_p, for NTT-friendly primes p ≡ 1 (mod 2N) with
// N = 2^log_n, log_n in 10..15: the fast exact polynomial arithmetic under the RLWE backend.
// forward() maps coefficients to the evaluations at the odd powers ψ^(2i+1) of a primitive 2N-th
// root of unity ψ, stored in bit-reversed order; there multiplication in Z_p[x]/(x^N + 1) is
// pointwise. Two kernels compute the same integers:
//   - portable: scalar Shoup/Harvey butterflies with 64-bit words, any x86-64, primes < 2^62;
//   - IFMA:     AVX-512 IFMA (vpmadd52luq/huq) on 52-bit words, primes < 2^50 (so that lazy
//               values in [0, 4p) fit 52 bits), chosen at run time where the CPU has it.
//
//   Ntt ntt(find_ntt_primes(50, 11, 1)[0], 11);   // N = 2048
//   ntt.forward(a); ntt.forward(b);               // a, b: [N] in [0, p)
//   ntt.multiply(a, b, c); ntt.inverse(c);        // c = a·b mod (x^N + 1, p)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cipherlora {

enum class NttKernel { kPortable, kIfma, kBest };

// True when the CPU (and OS) supports AVX-512 F, VL, DQ and IFMA. Computed once.
bool ntt_ifma_available();

// kIfma where available, else kPortable; kPortable and kIfma map to themselves.
NttKernel resolve_ntt_kernel(NttKernel kernel);

// The largest prime size the kernel supports: primes p < 2^ntt_max_prime_bits(kernel).
int ntt_max_prime_bits(NttKernel kernel);

// E.g. "AVX-512 IFMA (52-bit lanes)"; kBest names the kernel it resolves to.
std::string ntt_kernel_name(NttKernel kernel);

// True when p is prime (deterministic Miller–Rabin, exact for all 64-bit p) and p ≡ 1 mod
// 2^(log_n+1).
bool is_ntt_prime(uint64_t p, int log_n);

// The `count` largest primes p < 2^bits with p ≡ 1 mod 2^(log_n+1), in decreasing order.
// Requires 2 <= bits <= 64 and 1 <= log_n <= bits - 2; Error if fewer than `count` exist.
std::vector<uint64_t> find_ntt_primes(int bits, int log_n, int count);

struct NttTables;  // twiddles in the kernel's layout; he/ntt_kernels.h

class Ntt {
 public:
  // p: an NTT prime for log_n (is_ntt_prime), below 2^ntt_max_prime_bits(kernel). kBest falls back
  // to kPortable when p is too large for IFMA. Error on bad arguments or kIfma without the CPU.
  Ntt(uint64_t p, int log_n, NttKernel kernel = NttKernel::kBest);
  ~Ntt();
  Ntt(Ntt&&) noexcept;
  Ntt& operator=(Ntt&&) noexcept;

  uint64_t modulus() const;
  int64_t size() const;      // N
  int log_size() const;      // log_n
  NttKernel kernel() const;  // kPortable or kIfma, never kBest

  // In place, a: [N] in [0, p). forward: coefficients -> evaluations in bit-reversed order;
  // inverse undoes it (including the 1/N).
  void forward(uint64_t* a) const;
  void inverse(uint64_t* a) const;
  // out[i] = a[i]·b[i] mod p; a, b in [0, p). out may alias a or b.
  void multiply(const uint64_t* a, const uint64_t* b, uint64_t* out) const;

  // For the kernels in he/ntt_kernels.h (the ring product).
  const NttTables& tables() const { return *tables_; }

 private:
  std::unique_ptr<NttTables> tables_;
};

// The process-wide Ntt for (p, log_n, kernel), built on first use and kept (its tables are public
// constants): the ring products of every request share them instead of rebuilding twiddles.
// Thread-safe; the same arguments as the constructor, the same errors.
const Ntt& shared_ntt(uint64_t p, int log_n, NttKernel kernel = NttKernel::kBest);

}  // namespace cipherlora
