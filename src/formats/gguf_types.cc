#include "formats/gguf_types.h"

namespace cipherlora {

namespace {

// Indexed by ggml type id; {nullptr, 0, 0} marks ids ggml has retired or never used.
// Sizes are the ggml block layouts (QK_K = 256 for the k-quants).
constexpr GgmlTypeInfo kTypes[] = {
    {"F32", 1, 4},         // 0
    {"F16", 1, 2},         // 1
    {"Q4_0", 32, 18},      // 2
    {"Q4_1", 32, 20},      // 3
    {nullptr, 0, 0},       // 4 (Q4_2, removed)
    {nullptr, 0, 0},       // 5 (Q4_3, removed)
    {"Q5_0", 32, 22},      // 6
    {"Q5_1", 32, 24},      // 7
    {"Q8_0", 32, 34},      // 8
    {"Q8_1", 32, 40},      // 9
    {"Q2_K", 256, 84},     // 10
    {"Q3_K", 256, 110},    // 11
    {"Q4_K", 256, 144},    // 12
    {"Q5_K", 256, 176},    // 13
    {"Q6_K", 256, 210},    // 14
    {"Q8_K", 256, 292},    // 15
    {"IQ2_XXS", 256, 66},  // 16
    {"IQ2_XS", 256, 74},   // 17
    {"IQ3_XXS", 256, 98},  // 18
    {"IQ1_S", 256, 50},    // 19
    {"IQ4_NL", 32, 18},    // 20
    {"IQ3_S", 256, 110},   // 21
    {"IQ2_S", 256, 82},    // 22
    {"IQ4_XS", 256, 136},  // 23
    {"I8", 1, 1},          // 24
    {"I16", 1, 2},         // 25
    {"I32", 1, 4},         // 26
    {"I64", 1, 8},         // 27
    {"F64", 1, 8},         // 28
    {"IQ1_M", 256, 56},    // 29
    {"BF16", 1, 2},        // 30
    {nullptr, 0, 0},       // 31
    {nullptr, 0, 0},       // 32
    {nullptr, 0, 0},       // 33
    {"TQ1_0", 256, 54},    // 34
    {"TQ2_0", 256, 66},    // 35
    {nullptr, 0, 0},       // 36
    {nullptr, 0, 0},       // 37
    {nullptr, 0, 0},       // 38
    {"MXFP4", 32, 17},     // 39
};

constexpr const char* kValueTypeNames[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                           "bool", "string", "array", "u64", "i64", "f64"};
constexpr int kValueSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t type) {
  if (type >= sizeof(kTypes) / sizeof(kTypes[0]) || kTypes[type].name == nullptr) return nullptr;
  return &kTypes[type];
}

std::string gguf_type_name(uint32_t type) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  return info ? info->name : "type" + std::to_string(type);
}

int gguf_value_size(uint32_t type) {
  if (type >= sizeof(kValueSizes) / sizeof(kValueSizes[0])) return -1;
  return kValueSizes[type];
}

std::string gguf_value_type_name(uint32_t type) {
  if (type >= sizeof(kValueTypeNames) / sizeof(kValueTypeNames[0])) {
    return "type" + std::to_string(type);
  }
  return kValueTypeNames[type];
}

}  // namespace cipherlora
