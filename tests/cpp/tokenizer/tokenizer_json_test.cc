#include "tokenizer/tokenizer_json.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "tokenizer/bpe_tokenizer.h"

namespace cipherlora {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Ids = std::vector<int32_t>;

// A tokenizer.json like SmolLM2's (Digits + ByteLevel), with a small vocabulary.
json smollm_like() {
  return json::parse(R"({
    "version": "1.0",
    "added_tokens": [
      {"id": 0, "content": "<|endoftext|>", "special": true, "normalized": false},
      {"id": 1, "content": "<|im_start|>", "special": true, "normalized": false},
      {"id": 2, "content": "<|im_end|>", "special": true, "normalized": false},
      {"id": 9, "content": "<think>", "special": false, "normalized": false}
    ],
    "normalizer": null,
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Digits", "individual_digits": true},
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]},
    "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false},
    "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true},
    "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "",
      "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false,
      "vocab": {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2, "a": 3, "b": 4,
                "Ġ": 5, "1": 6, "ab": 7, "Ġab": 8},
      "merges": ["a b", ["Ġ", "ab"]]}
  })");
}

class TokenizerJson : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cipherlora_tokenizer_json_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const json& j) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << j.dump();
    return path.string();
  }
  void expect_error(const json& tokenizer, const std::string& what) {
    const std::string path = write("tokenizer.json", tokenizer);
    try {
      spec_from_tokenizer_json(path);
      ADD_FAILURE() << "no error, expected: " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  }

  fs::path dir_;
};

TEST_F(TokenizerJson, ReadsASmolLm2StyleTokenizer) {
  const std::string path = write("tokenizer.json", smollm_like());
  write("tokenizer_config.json", json::parse(R"({"bos_token": "<|im_start|>",
      "eos_token": {"content": "<|im_end|>"}, "pad_token": "<|im_end|>", "unk_token": null,
      "add_bos_token": false, "chat_template": "{{ x }}"})"));
  const TokenizerSpec spec = spec_from_tokenizer_json(path);
  EXPECT_EQ(spec.pre, "smollm");
  EXPECT_EQ(spec.tokens.size(), 10u);
  EXPECT_EQ(spec.tokens[9], "<think>");
  EXPECT_EQ(spec.token_types[2], kTokenControl);
  EXPECT_EQ(spec.token_types[3], kTokenNormal);
  EXPECT_EQ(spec.token_types[9], kTokenUserDefined);
  EXPECT_EQ(spec.merges, (std::vector<std::string>{"a b", "Ġ ab"}));
  EXPECT_EQ(spec.special_tokens,
            (std::vector<std::string>{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>"}));
  EXPECT_EQ(spec.bos_id, 1);
  EXPECT_EQ(spec.eos_id, 2);
  EXPECT_EQ(spec.pad_id, 2);
  EXPECT_EQ(spec.unk_id, -1);
  EXPECT_FALSE(spec.add_bos);
  EXPECT_EQ(spec.chat_template, "{{ x }}");

  const BpeTokenizer tok(spec);
  // "ab" | " ab" | " " | "1" | "<think>" | "<|im_end|>"
  EXPECT_EQ(tok.encode("ab ab 1<think><|im_end|>"), (Ids{7, 8, 5, 6, 9, 2}));
  EXPECT_EQ(tok.decode(Ids{7, 8, 9, 2}, /*skip_special=*/true), "ab ab<think>");
}

TEST_F(TokenizerJson, DetectsPreTokenizers) {
  json j = smollm_like();
  j["pre_tokenizer"] = json::parse(R"({"type": "ByteLevel", "add_prefix_space": false,
                                       "use_regex": true})");
  EXPECT_EQ(spec_from_tokenizer_json(write("tokenizer.json", j)).pre, "gpt2");

  j["pre_tokenizer"] = json::parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "\\d+"}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})");
  TokenizerSpec spec = spec_from_tokenizer_json(write("tokenizer.json", j));
  EXPECT_EQ(spec.pre, "regex");
  EXPECT_EQ(spec.pre_pattern, "\\d+");
  // "ab ab " is one gap piece between no matches: merges give "ab" "Ġab" "Ġ".
  EXPECT_EQ(BpeTokenizer(spec).encode("ab ab 11"), (Ids{7, 8, 5, 6, 6}));

  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  EXPECT_EQ(spec_from_tokenizer_json(write("tokenizer.json", j)).pre, "llama3");
}

TEST_F(TokenizerJson, BosFromTemplatePostProcessor) {
  json j = smollm_like();
  j["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<|im_start|>", "type_id": 0}},
                 {"Sequence": {"id": "A", "type_id": 0}}]})");
  const TokenizerSpec spec = spec_from_tokenizer_json(write("tokenizer.json", j));
  EXPECT_TRUE(spec.add_bos);
  EXPECT_EQ(spec.bos_id, 1);
  EXPECT_EQ(BpeTokenizer(spec).encode("ab"), (Ids{1, 7}));
}

TEST_F(TokenizerJson, RejectsWhatItCannotReproduce) {
  json j = smollm_like();
  j["model"]["type"] = "Unigram";
  expect_error(j, "model type 'Unigram' is not supported");
  j = smollm_like();
  j["model"]["byte_fallback"] = true;
  expect_error(j, "byte_fallback");
  j = smollm_like();
  j["normalizer"] = json::parse(R"({"type": "NFC"})");
  expect_error(j, "normalizer {\"type\":\"NFC\"} is not supported");
  j = smollm_like();
  j["pre_tokenizer"] = json::parse(R"({"type": "ByteLevel", "add_prefix_space": true})");
  expect_error(j, "pre_tokenizer");
  j = smollm_like();
  j["pre_tokenizer"] = json::parse(R"({"type": "Whitespace"})");
  expect_error(j, "is not supported");
  j = smollm_like();
  j["model"]["merges"] = json::array({json::array({"a"})});
  expect_error(j, "a merge is neither");
  expect_error(json::parse("[1]"), "no \"model\" object");

  std::ofstream(dir_ / "broken.json") << "{\"model\": ";
  EXPECT_THROW(spec_from_tokenizer_json((dir_ / "broken.json").string()), Error);
  try {
    spec_from_tokenizer_json((dir_ / "missing.json").string());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos);
  }
}

TEST_F(TokenizerJson, ConfigTokenMustExist) {
  const std::string path = write("tokenizer.json", smollm_like());
  write("tokenizer_config.json", json::parse(R"({"eos_token": "</s>"})"));
  EXPECT_THROW(spec_from_tokenizer_json(path), Error);
}

}  // namespace
}  // namespace cipherlora
