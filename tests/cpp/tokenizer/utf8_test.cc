#include "tokenizer/utf8.h"

#include <gtest/gtest.h>

#include "tokenizer/byte_unicode.h"

namespace cipherlora {
namespace {

TEST(Utf8, FindsTheFirstInvalidByte) {
  EXPECT_EQ(utf8_invalid_offset(""), 0u);
  EXPECT_EQ(utf8_invalid_offset("aé日😀"), std::string("aé日😀").size());
  EXPECT_EQ(utf8_invalid_offset("ab\xff"), 2u);
  EXPECT_EQ(utf8_invalid_offset("a\x80"), 1u);             // stray continuation byte
  EXPECT_EQ(utf8_invalid_offset("\xc3"), 0u);              // truncated
  EXPECT_EQ(utf8_invalid_offset("\xc1\xbf"), 0u);          // overlong 2-byte
  EXPECT_EQ(utf8_invalid_offset("\xe0\x9f\xbf"), 0u);      // overlong 3-byte
  EXPECT_EQ(utf8_invalid_offset("\xf0\x8f\xbf\xbf"), 0u);  // overlong 4-byte
  EXPECT_EQ(utf8_invalid_offset("x\xed\xa0\x80"), 1u);     // surrogate U+D800
  EXPECT_EQ(utf8_invalid_offset("\xf4\x90\x80\x80"), 0u);  // U+110000
  EXPECT_EQ(utf8_invalid_offset("\xef\xbf\xbf"), 3u);      // U+FFFF is valid
  EXPECT_EQ(utf8_invalid_offset("\xf4\x8f\xbf\xbf"), 4u);  // U+10FFFF is valid
  EXPECT_EQ(utf8_invalid_offset(std::string("a\0b", 3)), 3u);
}

TEST(Utf8, EncodesAndDecodes) {
  EXPECT_EQ(utf8_encode(0x41), "A");
  EXPECT_EQ(utf8_encode(0x120), "Ġ");
  EXPECT_EQ(utf8_encode(0x65E5), "日");
  EXPECT_EQ(utf8_encode(0x1F600), "😀");
  const std::string s = "aĠ日😀";
  size_t pos = 0;
  EXPECT_EQ(utf8_decode(s, &pos), U'a');
  EXPECT_EQ(utf8_decode(s, &pos), U'Ġ');
  EXPECT_EQ(utf8_decode(s, &pos), U'日');
  EXPECT_EQ(utf8_decode(s, &pos), U'😀');
  EXPECT_EQ(pos, s.size());
}

// GPT-2's bytes_to_unicode: printable Latin-1 stands for itself, the rest go to U+0100.. in order.
TEST(ByteUnicode, MatchesGpt2) {
  EXPECT_EQ(byte_to_unicode('a'), "a");
  EXPECT_EQ(byte_to_unicode('!'), "!");
  EXPECT_EQ(byte_to_unicode(0), "Ā");     // U+0100
  EXPECT_EQ(byte_to_unicode('\n'), "Ċ");  // U+010A
  EXPECT_EQ(byte_to_unicode(' '), "Ġ");   // U+0120 = 256 + 32
  EXPECT_EQ(byte_to_unicode(0x7F), "ġ");  // U+0121: the 34th unprintable byte
  EXPECT_EQ(byte_to_unicode(0xA0), "ł");  // U+0142
  EXPECT_EQ(byte_to_unicode(0xAD), "Ń");  // U+0143: soft hyphen, the last one
  EXPECT_EQ(byte_to_unicode(0xA1), "¡");
  EXPECT_EQ(byte_to_unicode(0xFF), "ÿ");
  for (int b = 0; b < 256; ++b) {
    size_t pos = 0;
    EXPECT_EQ(unicode_to_byte(utf8_decode(byte_to_unicode(uint8_t(b)), &pos)), b);
  }
  EXPECT_EQ(unicode_to_byte(U'Ą'), 4);  // U+0104 stands for byte 4; U+0144 is past the map
  EXPECT_EQ(unicode_to_byte(0x144), -1);
  EXPECT_EQ(unicode_to_byte(0xAD), -1);  // the soft hyphen itself is not in the map
  EXPECT_EQ(unicode_to_byte(U'日'), -1);
}

}  // namespace
}  // namespace cipherlora
