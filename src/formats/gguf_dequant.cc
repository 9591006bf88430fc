#include "formats/gguf_dequant.h"

#include <cassert>
#include <cstring>

#include "formats/gguf_types.h"
#include "formats/half.h"

namespace cipherlora {

namespace {

inline float load_fp16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp16_to_fp32(h);
}

}  // namespace

void dequantize_q8_0(const uint8_t* src, int64_t n_blocks, float* dst) {
  for (int64_t b = 0; b < n_blocks; ++b) {
    const uint8_t* block = src + b * 34;
    const float d = load_fp16(block);
    const auto* q = reinterpret_cast<const int8_t*>(block + 2);
    float* out = dst + b * 32;
    for (int j = 0; j < 32; ++j) out[j] = static_cast<float>(q[j]) * d;
  }
}

void dequantize_q4_0(const uint8_t* src, int64_t n_blocks, float* dst) {
  for (int64_t b = 0; b < n_blocks; ++b) {
    const uint8_t* block = src + b * 18;
    const float d = load_fp16(block);
    const uint8_t* qs = block + 2;
    float* out = dst + b * 32;
    for (int j = 0; j < 16; ++j) {
      out[j] = d * static_cast<float>((qs[j] & 0x0f) - 8);
      out[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
    }
  }
}

void dequantize_q4_1(const uint8_t* src, int64_t n_blocks, float* dst) {
  for (int64_t b = 0; b < n_blocks; ++b) {
    const uint8_t* block = src + b * 20;
    const float d = load_fp16(block);
    const float m = load_fp16(block + 2);
    const uint8_t* qs = block + 4;
    float* out = dst + b * 32;
    for (int j = 0; j < 16; ++j) {
      out[j] = d * static_cast<float>(qs[j] & 0x0f) + m;
      out[j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
    }
  }
}

void convert_f16(const uint8_t* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = load_fp16(src + 2 * i);
}

void convert_bf16(const uint8_t* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = bf16_to_fp32(h);
  }
}

bool gguf_can_dequantize(uint32_t type) {
  switch (static_cast<GgufType>(type)) {
    case GgufType::F32:
    case GgufType::F16:
    case GgufType::BF16:
    case GgufType::Q8_0:
    case GgufType::Q4_0:
    case GgufType::Q4_1:
      return true;
  }
  return false;
}

void gguf_dequantize(uint32_t type, const uint8_t* src, int64_t n, float* dst) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  assert(info != nullptr && gguf_can_dequantize(type) && n % info->block_size == 0);
  const int64_t n_blocks = n / info->block_size;
  // Chunks of 256K elements, spread over threads only for big tensors (>= 4M elements, e.g. an
  // embedding): a weight matrix of ~1M elements dequantizes in well under a millisecond, less
  // than a fork/join costs when the other core is busy.
  const int64_t chunk_blocks = (int64_t{1} << 18) / info->block_size;
  const int64_t n_chunks = (n_blocks + chunk_blocks - 1) / chunk_blocks;
#pragma omp parallel for schedule(dynamic) if (n_chunks >= 16)
  for (int64_t c = 0; c < n_chunks; ++c) {
    const int64_t first = c * chunk_blocks;
    const int64_t count = first + chunk_blocks <= n_blocks ? chunk_blocks : n_blocks - first;
    const uint8_t* in = src + first * info->block_bytes;
    float* out = dst + first * info->block_size;
    switch (static_cast<GgufType>(type)) {
      case GgufType::F32:
        std::memcpy(out, in, static_cast<size_t>(count) * 4);
        break;
      case GgufType::F16:
        convert_f16(in, count, out);
        break;
      case GgufType::BF16:
        convert_bf16(in, count, out);
        break;
      case GgufType::Q8_0:
        dequantize_q8_0(in, count, out);
        break;
      case GgufType::Q4_0:
        dequantize_q4_0(in, count, out);
        break;
      case GgufType::Q4_1:
        dequantize_q4_1(in, count, out);
        break;
    }
  }
}

}  // namespace cipherlora
