// Checks BpeTokenizer and render_chatml against Hugging Face on the real SmolLM2-135M-Instruct
// tokenizer. The cases come from tests/reference/make_tokenizer_cases.py; without them (env vars
// unset) the tests skip:
//
//   .venv/bin/python tests/reference/make_tokenizer_cases.py --out /tmp/tok_cases
//   CIPHERLORA_TOKENIZER_SPEC=/tmp/tok_cases/spec.json
//   CIPHERLORA_TOKENIZER_CASES=/tmp/tok_cases/cases.json
//   CIPHERLORA_TOKENIZER_JSON=/tmp/tok_cases/hf/tokenizer.json   (optional: the JSON loader too)
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer_json.h"

namespace cipherlora {
namespace {

using nlohmann::json;

json read_json(const char* path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return json::parse(in);
}

// The spec as the product's GGUF loader fills it, from make_tokenizer_cases.py's spec.json.
TokenizerSpec spec_from_reference_json(const json& j) {
  TokenizerSpec spec;
  spec.tokens = j.at("tokens").get<std::vector<std::string>>();
  spec.token_types = j.at("token_types").get<std::vector<int32_t>>();
  spec.merges = j.at("merges").get<std::vector<std::string>>();
  spec.pre = j.at("pre").get<std::string>();
  spec.bos_id = j.at("bos_id");
  spec.eos_id = j.at("eos_id");
  spec.unk_id = j.at("unk_id");
  spec.pad_id = j.at("pad_id");
  spec.add_bos = j.at("add_bos");
  spec.chat_template = j.at("chat_template");
  spec.special_tokens = special_tokens_from_types(spec);
  return spec;
}

class Smollm2Reference : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* spec_path = std::getenv("CIPHERLORA_TOKENIZER_SPEC");
    const char* cases_path = std::getenv("CIPHERLORA_TOKENIZER_CASES");
    if (spec_path == nullptr || cases_path == nullptr) {
      GTEST_SKIP() << "set CIPHERLORA_TOKENIZER_SPEC and CIPHERLORA_TOKENIZER_CASES (see "
                      "tests/reference/make_tokenizer_cases.py)";
    }
    spec_ = spec_from_reference_json(read_json(spec_path));
    cases_ = read_json(cases_path);
  }

  // Every case's ids equal HF's; each token's bytes are its offset span, and the spans cover the
  // text in order but for the bytes the vocabulary lacks, which HF drops.
  void check_cases(const BpeTokenizer& tok) {
    bool dropped[256];
    for (int b = 0; b < 256; ++b) dropped[b] = !tok.token_id(byte_to_unicode(uint8_t(b)));
    const auto without_dropped = [&](std::string s) {
      std::erase_if(s, [&](char c) { return dropped[uint8_t(c)]; });
      return s;
    };
    size_t checked = 0;
    for (const json& c : cases_.at("cases")) {
      const std::string text = c.at("text");
      const std::vector<int32_t> want = c.at("ids").get<std::vector<int32_t>>();
      std::vector<std::pair<size_t, size_t>> offsets;
      const std::vector<int32_t> got = tok.encode_with_offsets(text, &offsets);
      ASSERT_EQ(offsets.size(), got.size());
      if (got != want) {  // name the first differing token and the text around it
        size_t i = 0;
        while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
        const size_t at = i < offsets.size() ? offsets[i].first : text.size();
        const size_t from = at < 40 ? 0 : at - 40;
        FAIL() << "token " << i << " differs: got " << (i < got.size() ? got[i] : -1) << ", HF "
               << (i < want.size() ? want[i] : -1) << ", at byte " << at << " near "
               << json(text.substr(from, 80)).dump(-1, ' ', true, json::error_handler_t::replace)
               << " in text "
               << json(text.substr(0, 100)).dump(-1, ' ', true, json::error_handler_t::replace);
      }
      size_t at = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        const auto [begin, end] = offsets[i];
        ASSERT_GE(begin, at) << "token " << i;
        ASSERT_EQ(without_dropped(text.substr(at, begin - at)), "") << "token " << i;
        ASSERT_EQ(without_dropped(text.substr(begin, end - begin)), tok.token_to_piece(got[i]));
        at = end;
      }
      ASSERT_EQ(without_dropped(text.substr(at)), "");
      ASSERT_EQ(tok.decode(got), without_dropped(text));
      ++checked;
    }
    EXPECT_GE(checked, 150u);
  }

  TokenizerSpec spec_;
  json cases_;
};

TEST_F(Smollm2Reference, IdsMatchHuggingFace) {
  const BpeTokenizer tok(spec_);
  EXPECT_EQ(tok.vocab_size(), 49152);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.token_id("<|im_end|>"), 2);
  check_cases(tok);
}

TEST_F(Smollm2Reference, TokenizerJsonLoaderMatchesToo) {
  const char* json_path = std::getenv("CIPHERLORA_TOKENIZER_JSON");
  if (json_path == nullptr) GTEST_SKIP() << "set CIPHERLORA_TOKENIZER_JSON";
  TokenizerSpec spec = spec_from_tokenizer_json(json_path);
  EXPECT_EQ(spec.pre, "smollm");
  EXPECT_EQ(spec.tokens, spec_.tokens);
  EXPECT_EQ(spec.merges, spec_.merges);
  EXPECT_EQ(spec.bos_id, 1);
  EXPECT_EQ(spec.eos_id, 2);
  EXPECT_EQ(spec.unk_id, 0);
  EXPECT_EQ(spec.pad_id, 2);
  EXPECT_FALSE(spec.add_bos);
  EXPECT_EQ(spec.chat_template, spec_.chat_template);
  check_cases(BpeTokenizer(std::move(spec)));
}

TEST_F(Smollm2Reference, ChatMatchesApplyChatTemplate) {
  const std::string system = cases_.at("default_system");
  EXPECT_EQ(chatml_default_system(spec_.chat_template), system);
  const BpeTokenizer tok(spec_);
  for (const json& chat : cases_.at("chats")) {
    std::vector<ChatMessage> messages;
    for (const json& m : chat.at("messages")) messages.push_back({m.at("role"), m.at("content")});
    const RenderedChat rendered = render_chatml(messages, chat.at("add_generation_prompt"), system);
    ASSERT_EQ(rendered.text, chat.at("text").get<std::string>());
    ASSERT_EQ(rendered.content_spans.size(), messages.size());
    for (size_t i = 0; i < messages.size(); ++i) {
      const auto [begin, end] = rendered.content_spans[i];
      EXPECT_EQ(rendered.text.substr(begin, end - begin), messages[i].content);
    }
    EXPECT_EQ(tok.encode(rendered.text), chat.at("ids").get<std::vector<int32_t>>());
  }
}

// ~1 MB of the reference texts: encoding it must take well under a second (cold word cache).
TEST_F(Smollm2Reference, EncodesAMegabyteQuickly) {
  const BpeTokenizer tok(spec_);
  std::string text;
  while (text.size() < (1u << 20)) {
    for (const json& c : cases_.at("cases")) {
      if (text.size() >= (1u << 20)) break;
      text += c.at("text").get<std::string>() + "\n";
    }
  }
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = tok.encode(text);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("encoded %zu bytes into %zu tokens in %.3f s\n", text.size(), ids.size(), seconds);
  EXPECT_GT(ids.size(), text.size() / 5);
  EXPECT_LT(seconds, 2.0);  // loose bound for a loaded CI machine; typically far less
}

}  // namespace
}  // namespace cipherlora
