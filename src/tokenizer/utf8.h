// Small UTF-8 helpers for the tokenizer: strict validation (the same rules as Rust's `str`, which
// is what Hugging Face tokenizers operate on) and encoding/decoding of one code point.
//
//   size_t bad = utf8_invalid_offset(text);        // text.size() when valid
//   std::string s = utf8_encode(0x120);             // "Ġ"
//   char32_t c = utf8_decode(s, &pos);              // reads one code point, advances pos
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cipherlora {

// Byte offset of the first byte that is not part of a well-formed UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF are ill-formed), or text.size() when all is valid.
size_t utf8_invalid_offset(std::string_view text);

// Number of bytes of the sequence that starts with lead byte c (1 for continuation bytes).
inline size_t utf8_sequence_length(unsigned char c) {
  return c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
}

std::string utf8_encode(char32_t code_point);

// Decodes the code point at *pos of valid UTF-8 and advances *pos past it.
char32_t utf8_decode(std::string_view text, size_t* pos);

}  // namespace cipherlora
