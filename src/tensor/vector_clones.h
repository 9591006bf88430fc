// CIPHERLORA_VECTOR_CLONES marks a hot loop function to be compiled three times — for x86-64-v4
// (AVX-512), x86-64-v3 (AVX2) and baseline x86-64 — with the best version picked when the program
// loads (function multiversioning). The build has no -march, so unmarked loops get only SSE2.
//
//   CIPHERLORA_VECTOR_CLONES void scale_row(const float* x, int64_t n, float s, float* y);
//
// The quantized backend must give identical bits whichever version runs, so marked functions use
// only integer arithmetic and correctly rounded IEEE operations (add, sub, mul, div, min, max,
// conversions) and never add a product unless that product is exact: v3 and v4 have FMA, and g++
// contracts a*b+c into one fused operation even in ISO mode, which rounds once instead of twice.
// An attribute cannot be a function, hence the macro.
#pragma once

#if defined(__GNUC__) && defined(__x86_64__)
#define CIPHERLORA_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CIPHERLORA_VECTOR_CLONES
#endif
