#include "tokenizer/bpe_tokenizer.h"

#include <thread>

#include <gtest/gtest.h>

#include "common/error.h"
#include "hand_vocab.h"

namespace cipherlora {
namespace {

using Ids = std::vector<int32_t>;
using Spans = std::vector<std::pair<size_t, size_t>>;

TEST(BpeTokenizer, LowestRankMergesFirstWhereverItIs) {
  const BpeTokenizer tok(test::hand_spec());
  // a b c: "b c" (rank 0) beats "a b" (rank 1) though it is further right; "a bc" never merges.
  EXPECT_EQ(tok.encode("abc"), (Ids{5, 15}));
  EXPECT_EQ(tok.encode("ab"), (Ids{16}));
  EXPECT_EQ(tok.encode("abab"), (Ids{16, 16}));
  // é is C3 A9 = "Ã" "©", merged by rank 6.
  EXPECT_EQ(tok.encode("é"), (Ids{23}));
  EXPECT_EQ(tok.encode("éa"), (Ids{23, 5}));
}

TEST(BpeTokenizer, EqualRanksMergeLeftmostFirst) {
  const BpeTokenizer tok(test::hand_spec());
  EXPECT_EQ(tok.encode("aaa"), (Ids{20, 5}));  // "aa a", not "a aa"
  EXPECT_EQ(tok.encode("aaaa"), (Ids{20, 20}));
  EXPECT_EQ(tok.encode("   "), (Ids{19, 8}));  // "ĠĠ Ġ"
}

TEST(BpeTokenizer, MergesStayInsidePreTokens) {
  const BpeTokenizer tok(test::hand_spec());
  EXPECT_EQ(tok.encode("ab c"), (Ids{16, 8, 7}));    // "ab" | " c" (no "Ġ c" merge)
  EXPECT_EQ(tok.encode(" a"), (Ids{18}));            // " a" is one pre-token: "Ġa"
  EXPECT_EQ(tok.encode("a  b"), (Ids{5, 8, 8, 6}));  // "a" | " " | " b"
  EXPECT_EQ(tok.encode("\n\n\n"), (Ids{9, 9, 9}));
  EXPECT_EQ(tok.encode(""), Ids{});
}

TEST(BpeTokenizer, SmollmSplitsEveryDigitGpt2DoesNot) {
  const BpeTokenizer smollm(test::hand_spec("smollm"));
  const BpeTokenizer gpt2(test::hand_spec("gpt2"));
  EXPECT_EQ(smollm.encode("a12"), (Ids{5, 10, 11}));
  // SmolLM2: "a" | "  " | "1" lets the two spaces merge; GPT-2: "a" | " " | " 1".
  EXPECT_EQ(smollm.encode("a  1"), (Ids{5, 19, 10}));
  EXPECT_EQ(gpt2.encode("a  1"), (Ids{5, 8, 8, 10}));
}

TEST(BpeTokenizer, SpecialTokensAreMatchedLiterallyLongestFirst) {
  const BpeTokenizer tok(test::hand_spec());
  Spans spans;
  EXPECT_EQ(tok.encode_with_offsets("<|im_start|>ab<|im_end|>", &spans), (Ids{1, 16, 2}));
  EXPECT_EQ(spans, (Spans{{0, 12}, {12, 14}, {14, 24}}));
  EXPECT_EQ(tok.encode("a<|im_end|>b"), (Ids{5, 2, 6}));
  EXPECT_EQ(tok.encode("<x>>"), (Ids{4}));  // the longer of "<x>" and "<x>>"
  EXPECT_EQ(tok.encode("<x>x"), (Ids{3, 24}));
  EXPECT_EQ(tok.encode("x<x>><x>"), (Ids{24, 4, 3}));
  // Not a complete special token: plain text ('i', 'm', ... are not in the vocab, so dropped).
  EXPECT_EQ(tok.encode("<|im_end|"), (Ids{12, 14, 14}));
}

TEST(BpeTokenizer, OffsetsAreByteSpans) {
  const BpeTokenizer tok(test::hand_spec());
  Spans spans;
  EXPECT_EQ(tok.encode_with_offsets("éa  b", &spans), (Ids{23, 5, 8, 8, 6}));
  EXPECT_EQ(spans, (Spans{{0, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}}));
}

TEST(BpeTokenizer, BytesMissingFromTheVocabAreDroppedAsHfDoes) {
  const BpeTokenizer tok(test::hand_spec());
  Spans spans;
  // 'q' has no token: "aqb" becomes the symbols a, b, which then merge.
  EXPECT_EQ(tok.encode_with_offsets("aqb", &spans), (Ids{16}));
  EXPECT_EQ(spans, (Spans{{0, 3}}));
  EXPECT_EQ(tok.encode_with_offsets("qa", &spans), (Ids{5}));
  EXPECT_EQ(spans, (Spans{{1, 2}}));
}

TEST(BpeTokenizer, AddsBosWhenAsked) {
  TokenizerSpec spec = test::hand_spec();
  spec.add_bos = true;
  const BpeTokenizer tok(std::move(spec));
  Spans spans;
  EXPECT_EQ(tok.encode_with_offsets("ab", &spans), (Ids{1, 16}));
  EXPECT_EQ(spans, (Spans{{0, 0}, {0, 2}}));
  EXPECT_EQ(tok.encode(""), (Ids{1}));
}

TEST(BpeTokenizer, RejectsInvalidUtf8) {
  const BpeTokenizer tok(test::hand_spec());
  for (const char* bad :
       {"\xff", "a\xc3", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80"}) {
    EXPECT_THROW(tok.encode(bad), Error) << bad;
  }
  try {
    tok.encode("ab\xff");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos);
  }
}

TEST(BpeTokenizer, DecodesTokensToTheirBytes) {
  const BpeTokenizer tok(test::hand_spec());
  EXPECT_EQ(tok.decode(Ids{1, 16, 8, 23, 9, 2}), "<|im_start|>ab é\n<|im_end|>");
  EXPECT_EQ(tok.decode(Ids{1, 16, 3, 2}, /*skip_special=*/true), "ab<x>");  // <x> is not control
  EXPECT_EQ(tok.token_to_piece(8), " ");
  EXPECT_EQ(tok.token_to_piece(21), "\xc3");  // half a character: raw bytes, no U+FFFD
  EXPECT_THROW(tok.token_to_piece(25), Error);
  EXPECT_THROW(tok.decode(Ids{-1}), Error);
  EXPECT_TRUE(tok.is_control(2));
  EXPECT_FALSE(tok.is_control(3));
}

TEST(BpeTokenizer, LooksUpTokensAndIds) {
  const BpeTokenizer tok(test::hand_spec());
  EXPECT_EQ(tok.vocab_size(), 25);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.pad_id(), 2);
  EXPECT_EQ(tok.token_id("<|im_end|>"), 2);
  EXPECT_EQ(tok.token_id("Ġa"), 18);
  EXPECT_EQ(tok.token_id("zz"), std::nullopt);
}

TEST(BpeTokenizer, WithoutTokenTypesSpecialTokensAreControl) {
  TokenizerSpec spec = test::hand_spec();
  spec.token_types.clear();
  spec.special_tokens = {"<|im_end|>"};
  const BpeTokenizer tok(std::move(spec));
  EXPECT_EQ(tok.encode("a<|im_end|>"), (Ids{5, 2}));
  EXPECT_EQ(tok.encode("<x>"), (Ids{12, 24, 13}));  // no longer special
  EXPECT_EQ(tok.decode(Ids{5, 2}, true), "a");
}

TEST(BpeTokenizer, IgnoreMergesKeepsWholeVocabWords) {
  TokenizerSpec spec = test::hand_spec();
  spec.ignore_merges = true;
  const BpeTokenizer tok(std::move(spec));
  EXPECT_EQ(tok.encode("abc"), (Ids{17}));  // "abc" is a vocab entry, though merges give a|bc
  EXPECT_EQ(tok.encode("abcc"), (Ids{5, 15, 7}));
}

TEST(BpeTokenizer, RepeatedWordsGiveTheSameIds) {
  // Exercises the word cache: the second and later occurrences come from it.
  const BpeTokenizer tok(test::hand_spec());
  std::string text;
  // "abc" | " ab" | " abc" | " ab" | ... | " ": " ab" is Ġ|ab (rank 1 first, no "Ġ ab" merge);
  // " abc" is Ġa|bc (b c rank 0, then Ġ a rank 3).
  Ids want = {5, 15, 8, 16};
  text = "abc ab";
  for (int i = 1; i < 1000; ++i) {
    text += " abc ab";
    want.insert(want.end(), {18, 15, 8, 16});
  }
  text += " ";
  want.push_back(8);
  EXPECT_EQ(tok.encode(text), want);
  EXPECT_EQ(tok.encode(text), want);
}

TEST(BpeTokenizer, ConcurrentEncodesAgree) {
  // The word cache is shared: two threads filling it at once must still give the hand ids.
  const BpeTokenizer tok(test::hand_spec());
  std::string text;
  Ids want;
  for (int i = 0; i < 2000; ++i) {
    const std::string word(size_t(1 + i % 7), 'a');  // "a", "aa", ... "aaaaaaa": aa.. then a
    text += word + "\n";
    for (size_t k = 0; k + 1 < word.size(); k += 2) want.push_back(20);
    if (word.size() % 2) want.push_back(5);
    want.push_back(9);
  }
  Ids got[2];
  std::thread other([&] { got[1] = tok.encode(text); });
  got[0] = tok.encode(text);
  other.join();
  EXPECT_EQ(got[0], want);
  EXPECT_EQ(got[1], want);
}

TEST(BpeTokenizer, ValidatesTheSpec) {
  const auto throws_with = [](TokenizerSpec spec, const std::string& what) {
    try {
      BpeTokenizer tok(std::move(spec));
      ADD_FAILURE() << "no error, expected: " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  TokenizerSpec spec = test::hand_spec();
  spec.merges.push_back("a q");
  throws_with(spec, "merge 7 'a q' names a token that is not in the vocabulary");
  spec = test::hand_spec();
  spec.merges.push_back("abc");
  throws_with(spec, "is not 'left right'");
  spec = test::hand_spec();
  spec.merges.push_back("c c");  // "cc" is not a token
  throws_with(spec, "not in the vocabulary");
  spec = test::hand_spec();
  spec.bos_id = 25;
  throws_with(spec, "BOS id 25 is outside the vocabulary");
  spec = test::hand_spec();
  spec.special_tokens.push_back("<nope>");
  throws_with(spec, "special token '<nope>' is not in the vocabulary");
  spec = test::hand_spec();
  spec.token_types.pop_back();
  throws_with(spec, "24 token types for 25 tokens");
  spec = test::hand_spec("bert");
  throws_with(spec, "unsupported pre-tokenizer 'bert'");
  spec = test::hand_spec("regex");
  spec.pre_pattern = "(";
  throws_with(spec, "does not compile");
  spec = test::hand_spec();
  spec.tokens.clear();
  spec.token_types.clear();
  throws_with(spec, "vocabulary is empty");
}

}  // namespace
}  // namespace cipherlora
