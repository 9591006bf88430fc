#include "tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace cipherlora {
namespace {

using Pieces = std::vector<std::string>;

Pieces split(const PreTokenizer& pre, std::string_view text) {
  std::vector<ByteRange> ranges;
  pre.split(text, 0, &ranges);
  Pieces pieces;
  size_t at = 0;
  for (const auto& [begin, end] : ranges) {
    EXPECT_EQ(begin, at) << "pieces must tile the text";
    pieces.emplace_back(text.substr(begin, end - begin));
    at = end;
  }
  EXPECT_EQ(at, text.size());
  return pieces;
}

TEST(PreTokenizer, Gpt2Regex) {
  const PreTokenizer gpt2(gpt2_split_pattern(), false);
  EXPECT_EQ(split(gpt2, "I'm here"), (Pieces{"I", "'m", " here"}));
  EXPECT_EQ(split(gpt2, "IT'S"), (Pieces{"IT", "'", "S"}));  // contractions are lower case only
  EXPECT_EQ(split(gpt2, "a  b"), (Pieces{"a", " ", " b"}));
  // \s+(?!\S) backs off one space so that the last one joins the next word.
  EXPECT_EQ(split(gpt2, "a \n\nb"), (Pieces{"a", " \n", "\n", "b"}));
  EXPECT_EQ(split(gpt2, "a  "), (Pieces{"a", "  "}));
  EXPECT_EQ(split(gpt2, "x 42!?"), (Pieces{"x", " 42", "!?"}));
  EXPECT_EQ(split(gpt2, "日本語 テスト"), (Pieces{"日本語", " テスト"}));
  EXPECT_EQ(split(gpt2, ""), Pieces{});
}

TEST(PreTokenizer, NelIsWhitespaceAsInOniguruma) {
  const PreTokenizer gpt2(gpt2_split_pattern(), false);
  // U+0085 is \s for HF's regex engine; with PCRE2's own \s, " \x85" would be one piece.
  EXPECT_EQ(split(gpt2, "a \u0085b"), (Pieces{"a", " ", "\u0085", "b"}));
}

TEST(PreTokenizer, SmollmIsolatesEveryNumberCharacter) {
  const PreTokenizer smollm(gpt2_split_pattern(), true);
  EXPECT_EQ(split(smollm, "x  12ab"), (Pieces{"x", "  ", "1", "2", "ab"}));
  EXPECT_EQ(split(smollm, "a²b½"), (Pieces{"a", "²", "b", "½"}));
  EXPECT_EQ(split(smollm, "１٣"), (Pieces{"１", "٣"}));  // fullwidth, Arabic-Indic
  // Kawi digit one (U+11F51, Unicode 15): numeric for HF, unknown to PCRE2 10.42's tables.
  EXPECT_EQ(split(smollm, "a\U00011F51b"), (Pieces{"a", "\U00011F51", "b"}));
  // The regex does not look past a digit: "\n " stays whole before "1".
  EXPECT_EQ(split(smollm, "\n 1"), (Pieces{"\n ", "1"}));
}

TEST(PreTokenizer, Llama3GroupsDigitsByThree) {
  const PreTokenizer llama3(llama3_split_pattern(), false);
  EXPECT_EQ(split(llama3, "Hello 12345"), (Pieces{"Hello", " ", "123", "45"}));
  EXPECT_EQ(split(llama3, "IT'S"), (Pieces{"IT", "'S"}));  // case-insensitive contractions
}

TEST(PreTokenizer, CustomRegexKeepsGapsAsPieces) {
  const PreTokenizer digits(R"(\d+)", false);
  EXPECT_EQ(split(digits, "ab12cd3"), (Pieces{"ab", "12", "cd", "3"}));
  const PreTokenizer empty_matches("x*", false);  // empty matches split nothing
  EXPECT_EQ(split(empty_matches, "abxxc"), (Pieces{"ab", "xx", "c"}));
}

TEST(PreTokenizer, RangesAreOffsetByBase) {
  const PreTokenizer gpt2(gpt2_split_pattern(), false);
  std::vector<ByteRange> ranges;
  gpt2.split("a b", 10, &ranges);
  EXPECT_EQ(ranges, (std::vector<ByteRange>{{10, 11}, {11, 13}}));
}

TEST(PreTokenizer, TranslatesOnigurumaClasses) {
  EXPECT_EQ(onig_to_pcre2(R"(\s)"), R"([\t-\r\x{20}\x{85}\p{Z}])");
  EXPECT_EQ(onig_to_pcre2(R"(\S)"), R"([^\t-\r\x{20}\x{85}\p{Z}])");
  EXPECT_EQ(onig_to_pcre2(R"([^\sx])"), R"([^\t-\r\x{20}\x{85}\p{Z}x])");
  EXPECT_EQ(onig_to_pcre2(R"(\\s)"), R"(\\s)");  // an escaped backslash, then 's'
  EXPECT_EQ(onig_to_pcre2(R"(\p{L})"), R"(\p{L})");
  EXPECT_EQ(onig_to_pcre2(R"(\p{N})").substr(0, 25), R"([\p{N}\x{10D40}-\x{10D49})");
}

TEST(PreTokenizer, BadPatternThrows) {
  EXPECT_THROW(PreTokenizer("(", false), Error);
}

}  // namespace
}  // namespace cipherlora
