// GPT-2's reversible byte <-> Unicode map. Byte-level BPE vocabularies spell every byte as one
// printable character so that tokens never hold raw spaces or control bytes: printable Latin-1
// bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves, the other 68 bytes get U+0100,
// U+0101, ... in byte order (so ' ' is "Ġ" U+0120 and '\n' is "Ċ" U+010A).
//
//   const std::string& s = byte_to_unicode(' ');       // "Ġ"
//   int b = unicode_to_byte(U'Ġ');                      // 32; -1 for a character outside the map
#pragma once

#include <string>

namespace cipherlora {

// UTF-8 spelling of the character that stands for byte b.
const std::string& byte_to_unicode(unsigned char b);

// The byte that code point c stands for, or -1 when c is not one of the 256 characters.
int unicode_to_byte(char32_t c);

}  // namespace cipherlora
