// The tensor and metadata value types of the GGUF format, with their storage sizes.
//
// A ggml tensor type packs `block_size` consecutive elements of a row into `block_bytes` bytes
// (block_size 1 for plain types). The table covers every type ggml defines so that files with
// types we cannot dequantize still open and validate; only some types can be read as fp32
// (see gguf_dequant.h).
//
//   const GgmlTypeInfo* info = ggml_type_info(3);   // Q4_1: {"Q4_1", 32, 20}; nullptr if unknown
#pragma once

#include <cstdint>
#include <string>

namespace cipherlora {

enum class GgufType : uint32_t { F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q8_0 = 8, BF16 = 30 };

struct GgmlTypeInfo {
  const char* name;
  uint32_t block_size;   // elements per block
  uint32_t block_bytes;  // bytes per block
};

// nullptr when `type` is not a ggml type id.
const GgmlTypeInfo* ggml_type_info(uint32_t type);

// "F32", "Q4_1", ... or "type<N>" for an unknown id.
std::string gguf_type_name(uint32_t type);

// Metadata value types (the u32 tag before every value).
enum class GgufValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};

// Size in bytes of a fixed-size value type; 0 for STRING and ARRAY, -1 for an unknown tag.
int gguf_value_size(uint32_t type);

// "u8", "string", "array", ... or "type<N>" for an unknown tag.
std::string gguf_value_type_name(uint32_t type);

}  // namespace cipherlora
