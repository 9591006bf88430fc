// Internal to src/he/, not a public header: the twiddle tables behind Ntt and the per-kernel loops
// over them, shared by ntt.cc (portable kernel, dispatch), ntt_ifma.cc (AVX-512 IFMA kernel) and
// ring_product.cc. Both kernels compute the same integers; only speed and layout differ.
//
// Value ranges follow Harvey's lazy reduction: forward (Cooley–Tukey) butterflies take and give
// values in [0, 4p), inverse (Gentleman–Sande) ones in [0, 2p); only the ends of a transform reduce
// to [0, p). A product w·y mod p by a fixed w uses Shoup's precomputed quotient floor(w·2^β / p),
// β = 64 (portable) or 52 (IFMA), and lands in [0, 2p) for any y < 2^β. Hence 4p < 2^β.
//
// The ring product runs per prime, a·s mod (x^N + 1, p) with a read as log_q-bit two's complement
// integers: product_residues() for the first of two primes, then product_lifted() for the last,
// which also combines the primes by CRT (lift_centered) and writes the result mod 2^log_q.
#pragma once

#include <cstdint>

#include "he/ntt.h"

namespace cipherlora {

// 64-byte aligned words (whole-vector loads never straddle cache lines), zero-initialized and
// wiped before the memory is freed: the ring product keeps secret-derived values in them.
class AlignedWords {
 public:
  AlignedWords() = default;
  explicit AlignedWords(int64_t n);
  AlignedWords(AlignedWords&& other) noexcept;
  AlignedWords& operator=(AlignedWords&& other) noexcept;
  ~AlignedWords() { release(); }

  uint64_t* data() { return data_; }
  const uint64_t* data() const { return data_; }
  int64_t size() const { return size_; }
  uint64_t& operator[](int64_t i) { return data_[i]; }
  uint64_t operator[](int64_t i) const { return data_[i]; }

 private:
  void release();
  uint64_t* data_ = nullptr;
  int64_t size_ = 0;
};

struct NttTables {
  uint64_t p = 0;
  int log_n = 0;
  int64_t n = 0;
  NttKernel kernel = NttKernel::kPortable;  // resolved: kPortable or kIfma
  int shoup_bits = 64;                      // β of the Shoup quotients
  // [n] ψ^bitrev(k) and ψ^-bitrev(k) (bit reversal over log_n bits) with their Shoup quotients;
  // entry m + i is the twiddle of group i in the stage with m groups. The IFMA kernel stores the
  // entries of its last two stages permuted (ifma_permute_tables).
  AlignedWords fwd, fwd_quot, inv, inv_quot;
  uint64_t n_inv = 0, n_inv_quot = 0;             // 1/N mod p
  uint64_t inv_last = 0, inv_last_quot = 0;       // ψ^-bitrev(1) / N: the scaled last stage
  uint64_t barrett = 0;                           // floor(2^64 / p)
  uint64_t pow64 = 0;                             // 2^64 mod p
  uint64_t pow63 = 0, pow32 = 0, pow32_quot = 0;  // 2^63, 2^32 mod p; Shoup quotient of 2^32
};

// ---- scalar helpers -----------------------------------------------------------------------------

inline uint64_t mul_mod(uint64_t a, uint64_t b, uint64_t p) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(a) * b % p);
}
uint64_t pow_mod(uint64_t base, uint64_t exp, uint64_t p);
// floor(w·2^bits / p), w < p.
inline uint64_t shoup_quotient(uint64_t w, uint64_t p, int bits) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(w) << bits) / p);
}

// ---- portable kernel (ntt.cc) -------------------------------------------------------------------

void portable_forward(const NttTables& t, uint64_t* a);  // [n] [0, p) -> [0, p)
void portable_inverse(const NttTables& t, uint64_t* a);  // [n] [0, p) -> [0, p), with 1/N

// ---- IFMA kernel (ntt_ifma.cc); callers check t.kernel == kIfma ---------------------------------

void ifma_permute_tables(NttTables& t);  // standard order -> the kernel's tail layout
void ifma_forward(const NttTables& t, uint64_t* a);
void ifma_inverse(const NttTables& t, uint64_t* a);

// ---- the ring product, dispatched on t.kernel (ntt.cc) ------------------------------------------

// A fixed multiplicand for the products below, from b [n] (forward() output, [0, p)): b/N in the
// kernel's layout with Shoup quotients, multiplicand_words(t) words (portable: b/N then the
// quotients; IFMA: merged with the stage h = 1 twiddles, see ntt_ifma.cc).
int64_t multiplicand_words(const NttTables& t);
void prepare_multiplicand(const NttTables& t, const uint64_t* b, uint64_t* mult);
void ifma_prepare_multiplicand(const NttTables& t, const uint64_t* b, uint64_t* mult);

// res[n] = a·b mod (x^n + 1, p) in [0, p), where a [n] holds log_q-bit two's complement integers
// (bits above log_q ignored) and mult = prepare_multiplicand(b). res: 64-byte aligned. The IFMA
// kernel requires 2^32 < p < 2^50.
void product_residues(const NttTables& t, const uint64_t* a, int log_q, const uint64_t* mult,
                      uint64_t* res);
void portable_product_residues(const NttTables& t, const uint64_t* a, int log_q,
                               const uint64_t* mult, uint64_t* res);
void ifma_product_residues(const NttTables& t, const uint64_t* a, int log_q, const uint64_t* mult,
                           uint64_t* res);

// Constants to lift residues modulo one prime p1, or two primes p1 > p2 with p1 < 2·p2, to the
// centered integer c in [-(P-1)/2, (P-1)/2], P = p1·p2, by Garner's formula c = r1 + p1·v with
// v = (r2 - r1)·p1^-1 mod p2, and then to c mod 2^log_q.
struct CrtLift {
  int primes = 1;
  uint64_t p1 = 0, p2 = 0;
  uint64_t p1_inv = 0, p1_inv_quot = 0;  // p1^-1 mod p2 and its Shoup quotient (kernel's β)
  uint64_t product = 0;                  // p1·p2 mod 2^64
};
CrtLift make_crt_lift(NttKernel kernel, uint64_t p1, uint64_t p2 /* 0: one prime */);

// out[n] = centered CRT lift of (r1, r2) mod 2^log_q; r2 unused with one prime. r in [0, p).
void lift_centered(NttKernel kernel, const CrtLift& lift, const uint64_t* r1, const uint64_t* r2,
                   int64_t n, int log_q, uint64_t* out);
void portable_lift_centered(const CrtLift& lift, const uint64_t* r1, const uint64_t* r2, int64_t n,
                            int log_q, uint64_t* out);
void ifma_lift_centered(const CrtLift& lift, const uint64_t* r1, const uint64_t* r2, int64_t n,
                        int log_q, uint64_t* out);

// out[n] = lift_centered(r1, a·b mod (x^n + 1, p)) for the last prime p = t.p of the lift (p1
// with one prime, p2 with two; r1 then holds product_residues() for p1). work: [n], 64-byte
// aligned. The IFMA kernel fuses the lift into its last inverse pass. out may be a.
void product_lifted(const NttTables& t, const uint64_t* a, int log_q, const uint64_t* mult,
                    const CrtLift& lift, const uint64_t* r1, uint64_t* work, uint64_t* out);
void ifma_product_lifted(const NttTables& t, const uint64_t* a, int log_q, const uint64_t* mult,
                         const CrtLift& lift, const uint64_t* r1, uint64_t* work, uint64_t* out);

// The operand side alone, for an operand multiplied by many multiplicands: transform_operand()
// is the products' forward part (a: [n] log_q-bit two's complement -> tr: [n] in the kernel's
// layout, lazily reduced), and the *_transformed forms finish a product from tr with the results
// of the fused forms above. log_q of the lifted form is the output's.
void transform_operand(const NttTables& t, const uint64_t* a, int log_q, uint64_t* tr);
void product_residues_transformed(const NttTables& t, const uint64_t* tr, const uint64_t* mult,
                                  uint64_t* res);
void product_lifted_transformed(const NttTables& t, const uint64_t* tr, int log_q,
                                const uint64_t* mult, const CrtLift& lift, const uint64_t* r1,
                                uint64_t* work, uint64_t* out);
void ifma_transform_operand(const NttTables& t, const uint64_t* a, int log_q, uint64_t* tr);
void ifma_product_residues_transformed(const NttTables& t, const uint64_t* tr, const uint64_t* mult,
                                       uint64_t* res);
void ifma_product_lifted_transformed(const NttTables& t, const uint64_t* tr, int log_q,
                                     const uint64_t* mult, const CrtLift& lift, const uint64_t* r1,
                                     uint64_t* work, uint64_t* out);

}  // namespace cipherlora
