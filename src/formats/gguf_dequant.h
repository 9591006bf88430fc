// Dequantization of GGUF tensor data to fp32, bit-identical to gguf-py (numpy, fp32 arithmetic):
//
//   Q8_0  block = fp16 d, 32 x int8 q                  v = q * d
//   Q4_0  block = fp16 d, 16 bytes of nibbles          v = (q - 8) * d
//   Q4_1  block = fp16 d, fp16 m, 16 bytes of nibbles  v = q * d + m   (rounded after * and +)
//   F16 / BF16 widen exactly; F32 is copied.
// In a 4-bit block the low nibbles of the 16 bytes are elements 0-15, the high nibbles 16-31.
// The build keeps floating-point contraction off (plain ISO C++), so q*d+m is never fused into
// an FMA and rounds exactly as numpy does.
//
//   if (gguf_can_dequantize(type)) gguf_dequantize(type, bytes, n, out);   // out: [n] fp32
#pragma once

#include <cstdint>

namespace cipherlora {

// Kernels over whole blocks; src is unaligned raw file bytes.
void dequantize_q8_0(const uint8_t* src, int64_t n_blocks, float* dst);  // dst: [n_blocks*32]
void dequantize_q4_0(const uint8_t* src, int64_t n_blocks, float* dst);  // dst: [n_blocks*32]
void dequantize_q4_1(const uint8_t* src, int64_t n_blocks, float* dst);  // dst: [n_blocks*32]
void convert_f16(const uint8_t* src, int64_t n, float* dst);             // dst: [n]
void convert_bf16(const uint8_t* src, int64_t n, float* dst);            // dst: [n]

// True for F32, F16, BF16, Q8_0, Q4_0, Q4_1.
bool gguf_can_dequantize(uint32_t type);

// n elements (a multiple of the type's block size) of `type` at src -> dst [n]; parallel (OpenMP)
// over chunks of blocks for large tensors. Asserts the type is supported.
void gguf_dequantize(uint32_t type, const uint8_t* src, int64_t n, float* dst);

}  // namespace cipherlora
