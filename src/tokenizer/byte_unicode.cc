#include "tokenizer/byte_unicode.h"

#include <array>

#include "tokenizer/utf8.h"

namespace cipherlora {
namespace {

bool stands_for_itself(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

// Code point for each byte: itself when printable, else 256, 257, ... in byte order.
std::array<char32_t, 256> make_code_points() {
  std::array<char32_t, 256> cps{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) cps[b] = stands_for_itself(b) ? char32_t(b) : next++;
  return cps;
}

const std::array<char32_t, 256>& code_points() {
  static const std::array<char32_t, 256> cps = make_code_points();
  return cps;
}

}  // namespace

const std::string& byte_to_unicode(unsigned char b) {
  static const std::array<std::string, 256> spelled = [] {
    std::array<std::string, 256> s;
    for (int i = 0; i < 256; ++i) s[i] = utf8_encode(code_points()[i]);
    return s;
  }();
  return spelled[b];
}

int unicode_to_byte(char32_t c) {
  // Every mapped code point is below 256 + 68 = 324.
  static const std::array<int, 324> inverse = [] {
    std::array<int, 324> inv;
    inv.fill(-1);
    for (int b = 0; b < 256; ++b) inv[code_points()[b]] = b;
    return inv;
  }();
  return c < inverse.size() ? inverse[c] : -1;
}

}  // namespace cipherlora
