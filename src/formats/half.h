// 16-bit float conversions shared by the GGUF and safetensors readers and writers.
//
// IEEE fp16 (1 sign, 5 exponent, 10 mantissa bits) and bfloat16 (the top half of an fp32) are
// stored as raw uint16_t bit patterns. Widening to fp32 is exact (subnormals, inf and NaN
// included); narrowing rounds to nearest, ties to even, which is what numpy's astype(float16)
// and gguf-py's BF16 quantizer do.
//
//   uint16_t h = fp32_to_fp16(0.1f);   // 0x2E66
//   float x = fp16_to_fp32(h);          // 0.0999755859375f
//   float y = bf16_to_fp32(fp32_to_bf16(3.14159f));
#pragma once

#include <bit>
#include <cstdint>

namespace cipherlora {

inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {  // inf or NaN: keep the payload, as numpy does
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {  // normal: rebias 15 -> 127
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {  // signed zero
    bits = sign;
  } else {                  // subnormal (mantissa * 2^-24): shift until the implicit bit appears
    uint32_t biased = 113;  // exponent of 2^-14, the value of mantissa bit 10
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --biased;
    }
    bits = sign | (biased << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

inline uint16_t fp32_to_fp16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs > 0x7f800000u) {  // NaN: keep the top payload bits and make sure it stays a NaN
    return static_cast<uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
  }
  if (abs >= 0x477ff000u) {  // >= 65520 (halfway above the largest fp16, 65504): inf
    return static_cast<uint16_t>(sign | 0x7c00u);
  }
  if (abs >= 0x38800000u) {  // >= 2^-14: a normal fp16. Round the 13 dropped bits to even; a
                             // carry out of the mantissa correctly bumps the exponent.
    const uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
    return static_cast<uint16_t>(sign | ((rounded - (112u << 23)) >> 13));
  }
  if (abs <= 0x33000000u) {  // <= 2^-25 (half the smallest subnormal, a tie to even 0): zero
    return static_cast<uint16_t>(sign);
  }
  // Subnormal result: value / 2^-24 = m * 2^(e - 126) with m the 24-bit significand.
  const uint32_t e = abs >> 23;  // 102 .. 112
  const uint32_t m = (abs & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - e;  // 14 .. 24
  uint32_t q = m >> shift;
  const uint32_t rest = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  if (rest > half || (rest == half && (q & 1u))) ++q;  // may carry into the smallest normal: fine
  return static_cast<uint16_t>(sign | q);
}

inline float bf16_to_fp32(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

inline uint16_t fp32_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) {  // NaN: truncate and force the quiet bit
    return static_cast<uint16_t>((x >> 16) | 0x40u);
  }
  // Round to nearest even on the 16 dropped bits; overflow correctly becomes inf.
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace cipherlora
