// JSONL examples with the hand vocabulary of tokenizer/hand_vocab.h, every expected id worked out
// by hand from that vocabulary:
//   0 <|endoftext|>  1 <|im_start|>  2 <|im_end|> (= EOS, PAD)  5 a  6 b  7 c  9 "\n"  10 1
//   11 2  15 bc  16 ab  18 " a"  20 aa  24 x;  merges by rank: "b c", "a b", "ab c", "Ġ a", "Ġ Ġ",
//   "a a".  Bytes without a token (s, y, t, e, m, u, r, i, n) are dropped, so the role "system" and
//   "user" give no tokens and "assistant" leaves a.....a., whose two a's merge to "aa" (20).
#include "data/jsonl_dataset.h"

#include <gtest/gtest.h>

#include "formats/test_util.h"
#include "tokenizer/hand_vocab.h"

namespace cipherlora {
namespace {

using nlohmann::json;
using test::expect_error;
using test::TempDir;
using Ids = std::vector<int32_t>;
using Mask = std::vector<uint8_t>;

const BpeTokenizer& tok() {
  static const BpeTokenizer t(test::hand_spec());
  return t;
}

Example encode(const json& record, const std::string& default_system = "") {
  DatasetOptions opt;
  opt.default_system = default_system;
  return encode_record(record, tok(), opt);
}

TEST(EncodeRecord, TextIsAllTargetsAndEndsWithEos) {
  // "ab\n12": digits split alone -> "ab" "\n" "1" "2" -> ab(16) \n(9) 1(10) 2(11), then EOS(2).
  const Example ex = encode({{"text", "ab\n12"}});
  EXPECT_EQ(ex.tokens, (Ids{16, 9, 10, 11, 2}));
  EXPECT_EQ(ex.is_target, (Mask{1, 1, 1, 1, 1}));
  EXPECT_EQ(ex.n_targets(100), 4);  // the first token is never predicted
}

TEST(EncodeRecord, TextEndingInEosGetsNoSecondEos) {
  const Example ex = encode({{"text", "abc<|im_end|>"}});
  EXPECT_EQ(ex.tokens, (Ids{5, 15, 2}));  // "abc": b c merges first (rank 0) -> a bc
  EXPECT_EQ(ex.is_target, (Mask{1, 1, 1}));
}

TEST(EncodeRecord, TextWithoutEosWhenAsked) {
  DatasetOptions opt;
  opt.append_eos = false;
  const Example ex = encode_record({{"text", "abc aa"}}, tok(), opt);
  EXPECT_EQ(ex.tokens, (Ids{5, 15, 18, 5}));  // " aa": "Ġ a" (rank 3) beats "a a" (rank 5)
  EXPECT_EQ(ex.is_target, (Mask{1, 1, 1, 1}));
}

TEST(EncodeRecord, PromptCompletionTargetsTheCompletionAndEos) {
  // "abc" + " aa" -> a(5) bc(15) | Ġa(18) a(5) | EOS(2)
  const Example ex = encode({{"prompt", "abc"}, {"completion", " aa"}});
  EXPECT_EQ(ex.tokens, (Ids{5, 15, 18, 5, 2}));
  EXPECT_EQ(ex.is_target, (Mask{0, 0, 1, 1, 1}));
  EXPECT_EQ(ex.n_targets(100), 3);
  EXPECT_EQ(ex.n_targets(3), 1);
}

TEST(EncodeRecord, TokenAcrossThePromptCompletionBoundaryIsATarget) {
  // "ab" + "c" tokenizes as a(5) bc(15): bc holds the completion's first byte, as TRL counts it.
  const Example ex = encode({{"prompt", "ab"}, {"completion", "c"}});
  EXPECT_EQ(ex.tokens, (Ids{5, 15, 2}));
  EXPECT_EQ(ex.is_target, (Mask{0, 1, 1}));
}

TEST(EncodeRecord, ChatTargetsAssistantContentAndItsImEnd) {
  // <|im_start|>system\nab<|im_end|>\n              (default system inserted)
  // <|im_start|>user\nabc<|im_end|>\n
  // <|im_start|>assistant\nbc<|im_end|>\n
  const Example ex = encode(
      {{"messages",
        {{{"role", "user"}, {"content", "abc"}}, {{"role", "assistant"}, {"content", "bc"}}}}},
      "ab");
  EXPECT_EQ(ex.tokens, (Ids{1, 9, 16, 2, 9,     //
                            1, 9, 5, 15, 2, 9,  //
                            1, 20, 9, 15, 2, 9}));
  EXPECT_EQ(ex.is_target, (Mask{0, 0, 0, 0, 0,     //
                                0, 0, 0, 0, 0, 0,  //
                                0, 0, 0, 1, 1, 0}));
}

TEST(EncodeRecord, ChatWithItsOwnSystemAndTwoAssistantTurns) {
  const Example ex = encode({{"messages",
                              {{{"role", "system"}, {"content", "x"}},
                               {{"role", "user"}, {"content", "1"}},
                               {{"role", "assistant"}, {"content", "ab"}},
                               {{"role", "user"}, {"content", "2"}},
                               {{"role", "assistant"}, {"content", "c"}}}}},
                            "ab");                   // not used: the chat has a system turn
  EXPECT_EQ(ex.tokens, (Ids{1, 9,  24, 2,  9,        // system: x
                            1, 9,  10, 2,  9,        // user: 1
                            1, 20, 9,  16, 2, 9,     // assistant: ab
                            1, 9,  11, 2,  9,        // user: 2
                            1, 20, 9,  7,  2, 9}));  // assistant: c
  EXPECT_EQ(ex.is_target, (Mask{0, 0, 0, 0, 0,       //
                                0, 0, 0, 0, 0,       //
                                0, 0, 0, 1, 1, 0,    //
                                0, 0, 0, 0, 0,       //
                                0, 0, 0, 1, 1, 0}));
  EXPECT_EQ(ex.n_targets(100), 4);
}

TEST(EncodeRecord, ChatWithoutDefaultSystem) {
  const Example ex =
      encode({{"messages",
               {{{"role", "user"}, {"content", "a"}}, {{"role", "assistant"}, {"content", "b"}}}}});
  EXPECT_EQ(ex.tokens, (Ids{1, 9, 5, 2, 9, 1, 20, 9, 6, 2, 9}));
  EXPECT_EQ(ex.is_target, (Mask{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0}));
}

TEST(EncodeRecord, Errors) {
  expect_error([] { encode(json::array({1, 2})); }, {"expected a JSON object"});
  expect_error([] { encode("text"); }, {"expected a JSON object"});
  expect_error([] { encode({{"txt", "a"}}); }, {"\"text\"", "\"messages\""});
  expect_error([] { encode({{"text", 5}}); }, {"\"text\" must be a string"});
  expect_error([] { encode({{"prompt", "a"}}); }, {"needs both", "\"completion\""});
  expect_error([] { encode({{"completion", "a"}}); }, {"needs both", "\"prompt\""});
  expect_error(
      [] {
        encode({{"prompt", "a"}, {"completion", json::array()}});
      },
      {"\"completion\" must be a string"});
  expect_error([] { encode({{"messages", json::array()}}); }, {"non-empty array"});
  expect_error([] { encode({{"messages", "hi"}}); }, {"non-empty array"});
  expect_error([] { encode({{"messages", {{{"role", "user"}}}}}); }, {"\"role\" and \"content\""});
  expect_error(
      [] {
        encode({{"messages", {{{"role", "user"}, {"content", 3}}}}});
      },
      {"\"content\" must be a string"});
  expect_error(
      [] {
        encode({{"messages",
                 {{{"role", "user"}, {"content", "a"}}, {{"role", "tool"}, {"content", "b"}}}}});
      },
      {"unknown message role 'tool'"});
  expect_error(
      [] {
        encode({{"messages", {{{"role", "user"}, {"content", "a"}}}}});
      },
      {"no assistant turn"});
  expect_error([] { encode({{"text", ""}}); }, {"no tokens to predict"});
}

TEST(LoadJsonl, SkipsBlankLinesAndHandlesCrlf) {
  TempDir dir;
  const std::string path = dir.file("data.jsonl");
  test::write_text(path,
                   "{\"text\": \"ab\"}\r\n\r\n  \t\n{\"prompt\": \"a\", \"completion\": \"bc\"}\r\n"
                   "\n{\"text\": \"c\"}");  // no newline at the end
  const std::vector<Example> ex = load_jsonl(path, tok(), DatasetOptions{});
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex[0].tokens, (Ids{16, 2}));
  EXPECT_EQ(ex[0].line, 1);
  EXPECT_EQ(ex[1].tokens, (Ids{5, 15, 2}));
  EXPECT_EQ(ex[1].is_target, (Mask{0, 1, 1}));
  EXPECT_EQ(ex[1].line, 4);
  EXPECT_EQ(ex[2].tokens, (Ids{7, 2}));
  EXPECT_EQ(ex[2].line, 6);
}

TEST(LoadJsonl, UsesTheDefaultSystemOption) {
  TempDir dir;
  test::write_text(dir.file("chat.jsonl"), R"({"messages": [{"role": "user", "content": "a"}, )"
                                           R"({"role": "assistant", "content": "b"}]})"
                                           "\n");
  DatasetOptions opt;
  opt.default_system = "c";
  const std::vector<Example> ex = load_jsonl(dir.file("chat.jsonl"), tok(), opt);
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].tokens, (Ids{1, 9, 7, 2, 9, 1, 9, 5, 2, 9, 1, 20, 9, 6, 2, 9}));
}

TEST(LoadJsonl, MalformedLineNamesFileAndLine) {
  TempDir dir;
  const std::string path = dir.file("bad.jsonl");
  test::write_text(path, "{\"text\": \"a\"}\n{\"text\": \"a\"\n{\"text\": \"b\"}\n");
  expect_error([&] { load_jsonl(path, tok(), DatasetOptions{}); },
               {path, "line 2", "not valid JSON"});
  test::write_text(path, "{\"text\": \"a\"}\n\n{\"role\": \"user\"}\n");
  expect_error([&] { load_jsonl(path, tok(), DatasetOptions{}); }, {path, "line 3", "\"text\""});
  test::write_text(path,
                   "{\"text\": \"a\"}\r\n{\"messages\": [{\"role\": \"user\", "
                   "\"content\": \"a\"}]}\r\n");
  expect_error([&] { load_jsonl(path, tok(), DatasetOptions{}); },
               {path, "line 2", "no assistant turn"});
}

TEST(LoadJsonl, EmptyOrMissingFile) {
  TempDir dir;
  test::write_text(dir.file("empty.jsonl"), "");
  expect_error([&] { load_jsonl(dir.file("empty.jsonl"), tok(), DatasetOptions{}); },
               {dir.file("empty.jsonl"), "holds no examples"});
  test::write_text(dir.file("blank.jsonl"), "\n\r\n   \n");
  expect_error([&] { load_jsonl(dir.file("blank.jsonl"), tok(), DatasetOptions{}); },
               {dir.file("blank.jsonl"), "holds no examples"});
  expect_error([&] { load_jsonl(dir.file("nope.jsonl"), tok(), DatasetOptions{}); },
               {dir.file("nope.jsonl")});
}

Example example(Ids tokens, Mask is_target) {
  Example e;
  e.tokens = std::move(tokens);
  e.is_target = std::move(is_target);
  return e;
}

TEST(MakeBatch, PadsShiftsAndMasks) {
  const Example a = example({3, 4, 5, 6, 7}, {0, 0, 1, 1, 1});
  const Example b = example({8, 9, 10}, {0, 1, 1});
  const TokenBatch batch = make_batch({&a, &b}, /*max_len=*/16, /*pad_id=*/2);
  EXPECT_EQ(batch.B, 2);
  EXPECT_EQ(batch.T, 5);
  EXPECT_EQ(batch.tokens, (Ids{3, 4, 5, 6, 7,  //
                               8, 9, 10, 2, 2}));
  EXPECT_EQ(batch.targets, (Ids{-100, 5, 6, 7, -100,  //
                                9, 10, -100, -100, -100}));
  EXPECT_EQ(batch.n_targets(), 5);
}

TEST(MakeBatch, TruncatesToMaxLen) {
  const Example a = example({3, 4, 5, 6, 7}, {0, 0, 1, 1, 1});
  const Example b = example({8, 9, 10}, {0, 1, 1});
  const TokenBatch batch = make_batch({&b, &a}, /*max_len=*/4, /*pad_id=*/2);
  EXPECT_EQ(batch.B, 2);
  EXPECT_EQ(batch.T, 4);
  EXPECT_EQ(batch.tokens, (Ids{8, 9, 10, 2,  //
                               3, 4, 5, 6}));
  // Token 7 is cut off, so position 3 of the second row has nothing to predict.
  EXPECT_EQ(batch.targets, (Ids{9, 10, -100, -100,  //
                                -100, 5, 6, -100}));
  EXPECT_EQ(a.n_targets(4), 2);
  EXPECT_EQ(b.n_targets(4), 2);
}

TEST(MakeBatch, NoPadIdPadsWithZero) {
  const Example a = example({3, 4, 5}, {1, 1, 1});
  const Example b = example({8, 9}, {0, 1});
  const TokenBatch batch = make_batch({&a, &b}, 8, /*pad_id=*/-1);
  EXPECT_EQ(batch.tokens, (Ids{3, 4, 5, 8, 9, 0}));
  EXPECT_EQ(batch.targets, (Ids{4, 5, -100, 9, -100, -100}));
}

TEST(MakeBatch, Errors) {
  const Example a = example({3, 4, 5}, {1, 1, 1});
  expect_error([] { make_batch({}, 8, 0); }, {"no examples"});
  expect_error([&] { make_batch({&a}, 1, 0); }, {"max_len"});
}

}  // namespace
}  // namespace cipherlora
