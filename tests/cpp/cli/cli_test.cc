// The `cipherlora` program end to end ($CIPHERLORA_BIN, set by ctest): bad input gives a non-zero
// exit code, exactly one line on stderr naming the problem and nothing on stdout; the commands
// work on a tiny GGUF model (the hand vocabulary of tokenizer/hand_vocab.h) written by the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "formats/test_util.h"
#include "model/llama_model.h"
#include "model/peft_adapter.h"
#include "model/tiny_checkpoint.h"
#include "tokenizer/bpe_tokenizer.h"

namespace cipherlora {
namespace {

using test::expect_failure;
using test::run;
using test::RunResult;
using test::TempDir;

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    weights_ = new LlamaWeights(testing::tiny_weights(testing::hand_vocab_config(), 21));
    testing::write_tiny_gguf(model(), *weights_);
    test::write_text(file("good.jsonl"),
                     "{\"text\": \"abc\"}\n{\"prompt\": \"ab\", \"completion\": \" aa\"}\n");
  }
  static void TearDownTestSuite() {
    delete weights_;
    delete dir_;
  }
  static std::string file(const std::string& name) { return dir_->file(name); }
  static std::string model() { return file("tiny.gguf"); }

  static TempDir* dir_;
  static LlamaWeights* weights_;
};
TempDir* Cli::dir_ = nullptr;
LlamaWeights* Cli::weights_ = nullptr;

// The engine's mean loss over hand-built rows, each row's targets given in full.
double engine_loss(const LlamaWeights& w, LoraAdapter* adapter,
                   const std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>>& rows,
                   int64_t* n_targets, Precision precision = Precision::fp32) {
  LlamaModel m(w, clear_backend_factory(precision));
  m.set_head_precision(precision);
  m.set_adapter(adapter);
  double sum = 0.0;
  *n_targets = 0;
  for (const auto& [tokens, targets] : rows) {
    TokenBatch b;
    b.B = 1;
    b.T = static_cast<int64_t>(tokens.size());
    b.tokens = tokens;
    b.targets = targets;
    sum += m.forward_loss(b, nullptr);
    *n_targets += b.n_targets();
  }
  return sum / static_cast<double>(*n_targets);
}

// good.jsonl by hand: "abc" -> a(5) bc(15) EOS(2), loss on bc and EOS; "ab" + " aa" ->
// ab(16) Ġa(18) a(5) EOS(2), loss on Ġa, a and EOS. Five target tokens in all.
const std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> kGoodRows = {
    {{5, 15, 2}, {15, 2, -100}}, {{16, 18, 5, 2}, {18, 5, 2, -100}}};

TEST_F(Cli, UnknownFlag) {
  expect_failure({"eval", "--bogus"}, {"--bogus"});
  expect_failure({"info", "--model", model(), "--bogus", "1"}, {"--bogus"});
}

TEST_F(Cli, UnknownSubcommand) {
  expect_failure({"frobnicate", "--model", model()}, {"frobnicate"});
}

TEST_F(Cli, NoSubcommand) {
  expect_failure({}, {"subcommand"});
}

TEST_F(Cli, MissingRequiredFlag) {
  expect_failure({"tokenize", "--model", model()}, {"--text"});
  expect_failure({"eval", "--model", model()}, {"--data"});
  expect_failure({"generate", "--model", model()}, {"--prompt"});
}

TEST_F(Cli, ModelFileMissing) {
  expect_failure({"info", "--model", file("nope.gguf")}, {file("nope.gguf")});
}

TEST_F(Cli, ModelFileTruncated) {
  const std::vector<uint8_t> bytes = test::read_bytes(model());
  ASSERT_GT(bytes.size(), 1000u);
  test::write_bytes(file("truncated.gguf"),
                    std::vector<uint8_t>(bytes.begin(), bytes.begin() + 1000));
  expect_failure({"info", "--model", file("truncated.gguf")}, {file("truncated.gguf")});
  expect_failure({"eval", "--model", file("truncated.gguf"), "--data", file("good.jsonl")},
                 {file("truncated.gguf")});
}

TEST_F(Cli, ModelFileNotGguf) {
  test::write_text(file("notes.txt"), "these are my notes, not a model\nsecond line\n");
  expect_failure({"info", "--model", file("notes.txt")}, {file("notes.txt")});
  expect_failure({"tokenize", "--model", file("notes.txt"), "--text", "a"}, {file("notes.txt")});
}

TEST_F(Cli, EvalDataMissing) {
  expect_failure({"eval", "--model", model(), "--data", file("nope.jsonl")}, {file("nope.jsonl")});
}

TEST_F(Cli, EvalDataMalformed) {
  test::write_text(file("bad.jsonl"), "{\"text\": \"abc\"}\n{\"text\": \"abc\"\n");
  expect_failure({"eval", "--model", model(), "--data", file("bad.jsonl"), "--seq-len", "16"},
                 {file("bad.jsonl"), "line 2"});
}

TEST_F(Cli, EvalDataEmpty) {
  test::write_text(file("empty.jsonl"), "\n\n");
  expect_failure({"eval", "--model", model(), "--data", file("empty.jsonl"), "--seq-len", "16"},
                 {file("empty.jsonl"), "holds no examples"});
}

TEST_F(Cli, AdapterFolderMissing) {
  expect_failure({"eval", "--model", model(), "--adapter", file("no-adapter"), "--data",
                  file("good.jsonl"), "--seq-len", "16"},
                 {file("no-adapter")});
  expect_failure(
      {"generate", "--model", model(), "--adapter", file("no-adapter"), "--prompt", "abc"},
      {file("no-adapter")});
}

TEST_F(Cli, BadNumbers) {
  expect_failure({"eval", "--model", model(), "--data", file("good.jsonl"), "--seq-len", "0"},
                 {"--seq-len"});
  expect_failure({"eval", "--model", model(), "--data", file("good.jsonl"), "--seq-len", "64"},
                 {"--seq-len 64", "context of 32"});
  expect_failure({"generate", "--model", model(), "--prompt", "abc", "--max-new-tokens", "-3"},
                 {"--max-new-tokens"});
  expect_failure({"eval", "--model", model(), "--data", file("good.jsonl"), "--batch-size", "x"},
                 {"--batch-size"});
}

TEST_F(Cli, InfoMentionsTheLayerCount) {
  const RunResult r = run({"info", "--model", model()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("layers         2\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vocabulary     25\n"), std::string::npos) << r.out;

  const RunResult j = run({"info", "--model", model(), "--json"});
  EXPECT_EQ(j.exit_code, 0) << j.err;
  const nlohmann::json info = nlohmann::json::parse(j.out);
  EXPECT_EQ(info.at("layers"), 2);
  EXPECT_EQ(info.at("hidden_size"), 16);
  EXPECT_EQ(info.at("kv_heads"), 2);
  EXPECT_EQ(info.at("vocab_size"), 25);
  EXPECT_EQ(info.at("tied_embeddings"), false);
  EXPECT_EQ(info.at("format"), "gguf");
}

TEST_F(Cli, TokenizePrintsTheHandVocabIds) {
  const RunResult r = run({"tokenize", "--model", model(), "--text", "abc"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "5 15\n");  // b c merges first (rank 0): a(5) bc(15)
  EXPECT_EQ(r.err, "");
  // <|im_start|>(1) ab(16) Ġ(8) 1(10) 2(11): digits alone, the space before them alone.
  const RunResult s = run({"tokenize", "--model", model(), "--text", "<|im_start|>ab 12"});
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.out, "1 16 8 10 11\n");
}

TEST_F(Cli, EvalJsonReportsLossOverTheTargetTokens) {
  const RunResult r = run({"eval", "--model", model(), "--data", file("good.jsonl"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("tokens"), 5);
  ASSERT_EQ(j.at("examples").size(), 2u);
  EXPECT_EQ(j["examples"][0].at("tokens"), 2);
  EXPECT_EQ(j["examples"][1].at("tokens"), 3);
  const double loss = j.at("loss").get<double>();
  EXPECT_DOUBLE_EQ(j.at("perplexity").get<double>(), std::exp(loss));
  int64_t n = 0;
  EXPECT_NEAR(loss, engine_loss(*weights_, nullptr, kGoodRows, &n), 1e-5);
  EXPECT_EQ(n, 5);
  // Per-example means: the first row alone.
  int64_t n0 = 0;
  EXPECT_NEAR(j["examples"][0].at("loss").get<double>(),
              engine_loss(*weights_, nullptr, {kGoodRows[0]}, &n0), 1e-5);
}

TEST_F(Cli, EvalChatUsesTheModelsDefaultSystem) {
  // The tiny chat template's default system is "ab", so the chat renders as
  // <|im_start|>system\nab<|im_end|>\n<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nb<|im_end|>\n
  // = 1 9 16 2 9 | 1 9 5 2 9 | 1 20 9 6 2 9, with loss on b(6) and its <|im_end|>(2).
  test::write_text(file("chat.jsonl"), R"({"messages": [{"role": "user", "content": "a"}, )"
                                       R"({"role": "assistant", "content": "b"}]})"
                                       "\n");
  const RunResult r = run({"eval", "--model", model(), "--data", file("chat.jsonl"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("tokens"), 2);
  std::vector<int32_t> targets(16, kIgnoreTarget);
  targets[12] = 6;
  targets[13] = 2;
  int64_t n = 0;
  EXPECT_NEAR(j.at("loss").get<double>(),
              engine_loss(*weights_, nullptr,
                          {{{1, 9, 16, 2, 9, 1, 9, 5, 2, 9, 1, 20, 9, 6, 2, 9}, targets}}, &n),
              1e-5);
}

TEST_F(Cli, EvalTruncatesToSeqLen) {
  // --seq-len 3 keeps "ab Ġa a" of the second example: targets Ġa and a only.
  const RunResult r =
      run({"eval", "--model", model(), "--data", file("good.jsonl"), "--seq-len", "3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("tokens"), 4);
  int64_t n = 0;
  EXPECT_NEAR(j.at("loss").get<double>(),
              engine_loss(*weights_, nullptr, {kGoodRows[0], {{16, 18, 5}, {18, 5, -100}}}, &n),
              1e-5);
}

TEST_F(Cli, EvalAppliesTheAdapter) {
  const LlamaConfig& c = weights_->config;
  LoraConfig lc;
  lc.r = 2;
  lc.alpha = 4.0f;
  lc.targets = parse_lora_targets("q_proj,up_proj");
  LoraAdapter lora = testing::random_adapter(c, lc, 5, 1.0f);
  save_peft_adapter(file("adapter"), lora, "tiny");

  const RunResult r = run({"eval", "--model", model(), "--adapter", file("adapter"), "--data",
                           file("good.jsonl"), "--seq-len", "16", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double loss = nlohmann::json::parse(r.out).at("loss").get<double>();
  int64_t n = 0;
  const double with = engine_loss(*weights_, &lora, kGoodRows, &n);
  const double without = engine_loss(*weights_, nullptr, kGoodRows, &n);
  EXPECT_NEAR(loss, with, 1e-5);
  EXPECT_GT(std::abs(with - without), 1e-3);  // the adapter makes a visible difference
}

TEST_F(Cli, BasePrecisionBf16RunsTheBf16Engine) {
  const RunResult r = run({"eval", "--model", model(), "--data", file("good.jsonl"),
                           "--base-precision", "bf16", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double loss = nlohmann::json::parse(r.out).at("loss").get<double>();
  int64_t n = 0;
  const double bf16 = engine_loss(*weights_, nullptr, kGoodRows, &n, Precision::bf16);
  const double fp32 = engine_loss(*weights_, nullptr, kGoodRows, &n);
  EXPECT_NEAR(loss, bf16, 1e-5);
  EXPECT_NEAR(loss, fp32, 1e-2 * fp32);
  EXPECT_NE(bf16, fp32);
  const RunResult g = run({"generate", "--model", model(), "--max-new-tokens", "3", "--prompt",
                           "abc", "--base-precision", "bf16"});
  EXPECT_EQ(g.exit_code, 0) << g.err;
  EXPECT_FALSE(g.out.empty());
  expect_failure(
      {"eval", "--model", model(), "--data", file("good.jsonl"), "--base-precision", "fp16"},
      {"--base-precision"});
}

TEST_F(Cli, GenerateContinuesGreedily) {
  const RunResult r =
      run({"generate", "--model", model(), "--max-new-tokens", "3", "--prompt", "abc"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Greedy by hand with the engine: argmax of the last position's logits, stopping at a control
  // token (ids 0-2 in the hand vocabulary).
  LlamaModel m(*weights_, clear_backend_factory());
  const BpeTokenizer tok(test::hand_spec());
  std::vector<int32_t> ids = {5, 15};
  std::string want;
  for (int step = 0; step < 3; ++step) {
    TokenBatch b;
    b.B = 1;
    b.T = static_cast<int64_t>(ids.size());
    b.tokens = ids;
    b.targets.assign(ids.size(), kIgnoreTarget);
    const std::vector<float> logits = m.logits(b);
    const float* last = &logits[(b.T - 1) * 25];
    const int32_t next = static_cast<int32_t>(std::max_element(last, last + 25) - last);
    if (next <= 2) break;
    want += tok.token_to_piece(next);
    ids.push_back(next);
  }
  EXPECT_GE(want.size(), 2u) << "the tiny model's seed should give text to compare";
  EXPECT_EQ(r.out, want + "\n");
}

}  // namespace
}  // namespace cipherlora
