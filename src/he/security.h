// The security check every RLWE parameter set passes before any key or ciphertext exists.
//
// The HomomorphicEncryption.org standard (Albrecht et al., "Homomorphic Encryption Security
// Standard", 2018, Table 1) lists, for a uniform ternary secret and error of standard deviation
// σ ≈ 3.2, the largest modulus that still gives 128-bit classical security at each ring degree N:
//
//     N      1024  2048  4096  8192  16384  32768
//     log2 q   27    54   109   218    438    881
//
// A parameter set outside this table — a smaller N, a larger q, a narrower error — is refused
// with an Error: there is no flag to weaken it.
//
//   check_security(/*log_n=*/11, /*log_q=*/47, /*sigma=*/3.2);   // fine: 47 <= 54
//   check_security(11, 60, 3.2);                                   // throws Error
#pragma once

namespace cipherlora {

// The error width the table assumes.
constexpr double kStandardSigma = 3.2;

// The largest log2 q with 128-bit security at N = 2^log_n (ternary secret, σ = 3.2), or 0 when
// the standard lists no such N.
int max_log_q_128(int log_n);

// Throws Error unless N = 2^log_n is in the table, 1 <= log_q <= max_log_q_128(log_n) and
// sigma >= kStandardSigma.
void check_security(int log_n, int log_q, double sigma);

}  // namespace cipherlora
