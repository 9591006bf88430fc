// `cipherlora train` end to end on a tiny GGUF model (tokenizer/hand_vocab.h) and a JSONL file of
// twelve examples: resuming from a checkpoint reaches the same adapter byte for byte, quantized
// mode is deterministic across runs and thread counts, a bf16 base trains close to fp32, the
// output folder holds a peft adapter and a log as documented, and bad input fails cleanly without
// creating the output folder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "formats/safetensors.h"
#include "formats/test_util.h"
#include "model/peft_adapter.h"
#include "model/tiny_checkpoint.h"

namespace cipherlora {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::read_text_file;
using test::run;
using test::RunResult;
using test::TempDir;

// Twelve examples and their token counts in the hand vocabulary, worked out by hand (text and
// completion examples end with EOS; the chat renders as in cli_test.cc's EvalChat test).
struct TrainLine {
  const char* json;
  int64_t tokens;
};
const TrainLine kTrainLines[] = {
    {R"({"text": "abc"})", 3},                        // a bc EOS
    {R"({"text": "ab ab"})", 4},                      // ab Ġ ab EOS
    {R"({"prompt": "ab", "completion": " aa"})", 4},  // ab Ġa a EOS
    {R"({"text": "12"})", 3},                         // 1 2 EOS
    {R"({"text": "x<x>"})", 3},                       // x <x> EOS
    {R"({"text": "aa bc"})", 4},                      // aa Ġ bc EOS
    {R"({"prompt": "abc", "completion": "c"})", 4},   // a bc c EOS
    {R"({"messages": [{"role": "user", "content": "a"}, )"
     R"({"role": "assistant", "content": "b"}]})",
     16},                                              // system ab, user a, assistant b
    {R"({"text": "a|b"})", 4},                         // a | b EOS
    {R"({"text": "cab"})", 3},                         // c ab EOS
    {R"({"prompt": "12", "completion": " abc"})", 5},  // 1 2 Ġa bc EOS
    {R"({"text": "é"})", 2},                           // Ã© EOS
};
constexpr int64_t kTrainExamples = std::size(kTrainLines);

int64_t train_tokens() {
  int64_t n = 0;
  for (const TrainLine& l : kTrainLines) n += l.tokens;
  return n;
}

class TrainCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    weights_ = new LlamaWeights(testing::tiny_weights(testing::hand_vocab_config(), 21));
    testing::write_tiny_gguf(model(), *weights_);
    std::string jsonl;
    for (const TrainLine& l : kTrainLines) jsonl += std::string(l.json) + "\n";
    test::write_text(file("train.jsonl"), jsonl);
    test::write_text(file("eval.jsonl"), "{\"text\": \"abc aa\"}\n{\"text\": \"cab 12\"}\n");
  }
  static void TearDownTestSuite() {
    delete weights_;
    delete dir_;
  }
  static std::string file(const std::string& name) { return dir_->file(name); }
  static std::string model() { return file("tiny.gguf"); }

  // `train` on the tiny model and a data file (train.jsonl by default) into out, with --seq-len 20
  // unless extra sets it.
  static std::vector<std::string> train_args(const std::string& out,
                                             const std::vector<std::string>& extra = {},
                                             const std::string& data = "") {
    std::vector<std::string> a = {
        "train", "--model", model(), "--data", data.empty() ? file("train.jsonl") : data,
        "--out", out};
    if (std::find(extra.begin(), extra.end(), "--seq-len") == extra.end())
      a.insert(a.end(), {"--seq-len", "20"});  // the model's context is 32
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // Runs a training expected to succeed (prefix holds global flags such as --threads).
  static RunResult train_ok(const std::string& out, const std::vector<std::string>& extra,
                            const std::vector<std::string>& prefix = {}) {
    std::vector<std::string> args = prefix;
    for (const std::string& a : train_args(out, extra)) args.push_back(a);
    const RunResult r = run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    return r;
  }
  // A failed run (see test::expect_failure) that leaves no output folder behind.
  static void expect_train_failure(const std::vector<std::string>& extra,
                                   const std::vector<std::string>& parts,
                                   const std::string& data = "") {
    const std::string out = file("never-" + std::to_string(failures_++));
    test::expect_failure(train_args(out, extra, data), parts);
    EXPECT_FALSE(fs::exists(out)) << out << " was created";
  }

  static TempDir* dir_;
  static LlamaWeights* weights_;
  static int failures_;
};
TempDir* TrainCommand::dir_ = nullptr;
LlamaWeights* TrainCommand::weights_ = nullptr;
int TrainCommand::failures_ = 0;

std::vector<json> read_log(const std::string& out) {
  std::vector<json> lines;
  std::istringstream in(read_text_file(out + "/train_log.jsonl"));
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

std::vector<json> step_lines(const std::vector<json>& log) {
  std::vector<json> steps;
  for (const json& j : log)
    if (j.contains("loss")) steps.push_back(j);
  return steps;
}

std::string adapter_bytes(const std::string& out) {
  return read_text_file(out + "/adapter_model.safetensors");
}

std::map<std::string, std::vector<float>> adapter_tensors(const std::string& out) {
  const SafetensorsFile st = SafetensorsFile::open(out + "/adapter_model.safetensors");
  std::map<std::string, std::vector<float>> all;
  for (const SafetensorsTensorInfo& t : st.tensors()) all[t.name] = st.read_f32(t.name);
  return all;
}

json adapter_config(const std::string& out) {
  return json::parse(read_text_file(out + "/adapter_config.json"));
}

// Every file under dir (relative path -> contents).
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    files[fs::relative(e.path(), dir).string()] =
        e.is_regular_file() ? read_text_file(e.path().string()) : "<dir>";
  return files;
}

// Flags of a run with everything that must survive a resume: shuffling over 3 epochs, gradient
// accumulation, dropout, warmup + cosine, weight decay. 12 examples / batch 2 / accum 3 = 2 steps
// per epoch, 6 in all.
const std::vector<std::string> kResumeFlags = {"--epochs",       "3",      "--batch-size",   "2",
                                               "--grad-accum",   "3",      "--lora-dropout", "0.1",
                                               "--scheduler",    "cosine", "--warmup-steps", "2",
                                               "--weight-decay", "0.01",   "--seed",         "5",
                                               "--lr",           "0.01",   "--lora-r",       "2"};

TEST_F(TrainCommand, ResumeReachesTheSameAdapter) {
  const std::string a = file("resume-a"), b = file("resume-b");
  train_ok(a, kResumeFlags);

  std::vector<std::string> stop = kResumeFlags;
  stop.insert(stop.end(), {"--stop-after", "3"});  // mid-epoch 1
  train_ok(b, stop);
  EXPECT_FALSE(fs::exists(b + "/adapter_config.json"));
  EXPECT_FALSE(fs::exists(b + "/adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(b + "/checkpoints/step-3/trainer_state.json"));
  EXPECT_TRUE(fs::exists(b + "/checkpoints/step-3/optimizer.safetensors"));
  EXPECT_TRUE(fs::exists(b + "/checkpoints/step-3/adapter/adapter_model.safetensors"));
  EXPECT_EQ(step_lines(read_log(b)).size(), 3u);

  std::vector<std::string> resume = kResumeFlags;
  resume.push_back("--resume");
  train_ok(b, resume);

  EXPECT_TRUE(fs::exists(a + "/checkpoints/step-6/trainer_state.json"));
  EXPECT_TRUE(fs::exists(b + "/checkpoints/step-6/trainer_state.json"));
  const std::string bytes_a = adapter_bytes(a);
  ASSERT_FALSE(bytes_a.empty());
  EXPECT_TRUE(bytes_a == adapter_bytes(b)) << "the resumed adapter differs";
  EXPECT_EQ(read_text_file(a + "/adapter_config.json"), read_text_file(b + "/adapter_config.json"));
  // Both logs hold steps 1..6 once each, with the same records.
  const std::vector<json> la = step_lines(read_log(a)), lb = step_lines(read_log(b));
  ASSERT_EQ(la.size(), 6u);
  ASSERT_EQ(lb.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    SCOPED_TRACE("step " + std::to_string(i + 1));
    EXPECT_EQ(la[i].at("step"), static_cast<int64_t>(i + 1));
    for (const char* key : {"step", "epoch", "loss", "lr", "grad_norm", "tokens"})
      EXPECT_EQ(la[i].at(key), lb[i].at(key)) << key;
  }
  // Training moved the adapter away from peft's initialisation (B = 0).
  for (const auto& [name, values] : adapter_tensors(a)) {
    if (name.find("lora_B") == std::string::npos) continue;
    EXPECT_TRUE(std::any_of(values.begin(), values.end(), [](float x) { return x != 0.0f; }))
        << name;
  }
}

TEST_F(TrainCommand, QuantizedModeIsDeterministic) {
  const std::vector<std::string> flags = {"--mode",       "quantized", "--epochs",       "1",
                                          "--batch-size", "3",         "--lora-dropout", "0.1",
                                          "--lr",         "0.01",      "--lora-r",       "2"};
  train_ok(file("quant-1"), flags);
  train_ok(file("quant-2"), flags);
  train_ok(file("quant-t1"), flags, {"--threads", "1"});
  train_ok(file("quant-t2"), flags, {"--threads", "2"});
  const std::string want = adapter_bytes(file("quant-1"));
  ASSERT_FALSE(want.empty());
  EXPECT_TRUE(want == adapter_bytes(file("quant-2"))) << "two identical runs differ";
  EXPECT_TRUE(want == adapter_bytes(file("quant-t1"))) << "--threads 1 differs";
  EXPECT_TRUE(want == adapter_bytes(file("quant-t2"))) << "--threads 2 differs";

  // Clear mode need not be bit-identical across thread counts, but close.
  std::vector<std::string> clear = flags;
  clear[1] = "clear";
  train_ok(file("clear-t1"), clear, {"--threads", "1"});
  train_ok(file("clear-t2"), clear, {"--threads", "2"});
  const auto t1 = adapter_tensors(file("clear-t1")), t2 = adapter_tensors(file("clear-t2"));
  const auto quant = adapter_tensors(file("quant-1"));
  ASSERT_EQ(t1.size(), t2.size());
  double diff = 0.0, scale = 0.0, quant_diff = 0.0;
  for (const auto& [name, v1] : t1) {
    const std::vector<float>& v2 = t2.at(name);
    ASSERT_EQ(v1.size(), v2.size()) << name;
    for (size_t i = 0; i < v1.size(); ++i) {
      diff = std::max(diff, static_cast<double>(std::abs(v1[i] - v2[i])));
      scale = std::max(scale, static_cast<double>(std::abs(v1[i])));
      quant_diff = std::max(quant_diff, static_cast<double>(std::abs(v1[i] - quant.at(name)[i])));
    }
  }
  EXPECT_GT(scale, 0.0);
  EXPECT_LE(diff, 1e-4 * scale);
  // The quantized run really used another backend.
  EXPECT_GT(quant_diff, 0.0);
}

// The encrypted backend decrypts exactly the quantized backend's integers, so a whole training run
// through ciphertexts must give the quantized run's adapter byte for byte.
TEST_F(TrainCommand, EncryptedModeGivesTheQuantizedAdapter) {
  const std::vector<std::string> flags = {"--epochs", "1", "--batch-size",   "3",  "--lr", "0.01",
                                          "--lora-r", "2", "--lora-dropout", "0.1"};
  std::vector<std::string> quant = flags, enc = flags;
  quant.insert(quant.end(), {"--mode", "quantized"});
  enc.insert(enc.end(), {"--mode", "encrypted"});
  train_ok(file("q"), quant);
  const RunResult r = train_ok(file("e"), enc);
  const std::string want = adapter_bytes(file("q"));
  ASSERT_FALSE(want.empty());
  EXPECT_TRUE(want == adapter_bytes(file("e"))) << "encrypted and quantized adapters differ";
  EXPECT_NE(r.err.find("encrypted: "), std::string::npos) << r.err;  // the traffic summary
}

TEST_F(TrainCommand, Bf16BaseTrainsCloseToFp32) {
  const std::vector<std::string> flags = {"--epochs", "2",    "--batch-size", "3",
                                          "--lr",     "0.01", "--lora-r",     "2"};
  std::vector<std::string> bf16 = flags;
  bf16.insert(bf16.end(), {"--base-precision", "bf16"});
  train_ok(file("prec-fp32"), flags);
  const RunResult r = run(train_args(file("prec-bf16"), bf16));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("mode clear (bf16 base)"), std::string::npos) << r.err;
  // Without native bf16 units it still trains, the same arithmetic on widened operands, with
  // one warning line. DNNL_MAX_CPU_ISA (read by oneDNN in the child) hides AVX512_BF16 here.
  setenv("DNNL_MAX_CPU_ISA", "AVX2", 1);
  const RunResult w = run(train_args(file("prec-bf16-avx2"), bf16));
  unsetenv("DNNL_MAX_CPU_ISA");
  ASSERT_EQ(w.exit_code, 0) << w.err;
  EXPECT_EQ(w.err.rfind("warning: this CPU has no native bf16 arithmetic", 0), 0u) << w.err;
  EXPECT_NE(w.err.find("will be slow here"), std::string::npos) << w.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << "native bf16 warned: " << r.err;

  // Losses per step within 3% of fp32's (tiny random model, measured ~1%), the adapters close;
  // and not identical, so bf16 really ran.
  const std::vector<json> l32 = step_lines(read_log(file("prec-fp32")));
  const std::vector<json> l16 = step_lines(read_log(file("prec-bf16")));
  ASSERT_EQ(l32.size(), l16.size());
  ASSERT_FALSE(l32.empty());
  for (size_t i = 0; i < l32.size(); ++i) {
    const double a = l32[i].at("loss").get<double>(), b = l16[i].at("loss").get<double>();
    EXPECT_NEAR(b, a, 0.03 * a) << "step " << i + 1;
  }
  const auto t32 = adapter_tensors(file("prec-fp32")), t16 = adapter_tensors(file("prec-bf16"));
  const auto t16w = adapter_tensors(file("prec-bf16-avx2"));
  double diff = 0.0, norm = 0.0, widened = 0.0;
  for (const auto& [name, a] : t32) {
    const std::vector<float>& b = t16.at(name);
    ASSERT_EQ(a.size(), b.size()) << name;
    for (size_t i = 0; i < a.size(); ++i) {
      diff += (static_cast<double>(b[i]) - a[i]) * (static_cast<double>(b[i]) - a[i]);
      norm += static_cast<double>(a[i]) * a[i];
      widened = std::max(widened, std::abs(static_cast<double>(t16w.at(name)[i]) - b[i]));
    }
  }
  EXPECT_GT(norm, 0.0);
  EXPECT_LT(std::sqrt(diff / norm), 0.05);
  EXPECT_GT(diff, 0.0);
  // Native and widened bf16 differ only in fp32 summation order.
  EXPECT_LT(widened, 1e-3 * std::sqrt(norm));
}

TEST_F(TrainCommand, AdapterConfigAndTensorNames) {
  const std::string out = file("names");
  train_ok(out, {"--lora-r", "4", "--lora-alpha", "8", "--lora-targets", "q_proj,v_proj",
                 "--max-steps", "1"});
  const json c = adapter_config(out);
  EXPECT_EQ(c.at("peft_type"), "LORA");
  EXPECT_EQ(c.at("task_type"), "CAUSAL_LM");
  EXPECT_TRUE(c.contains("base_model_name_or_path"));
  EXPECT_EQ(c.at("bias"), "none");
  EXPECT_EQ(c.at("r"), 4);
  EXPECT_EQ(c.at("lora_alpha"), 8.0);
  EXPECT_EQ(c.at("target_modules").get<std::set<std::string>>(),
            (std::set<std::string>{"q_proj", "v_proj"}));
  EXPECT_TRUE(c.at("layers_to_transform").is_null());

  // peft's names, A [r, in] and B [out, r]: q_proj is 16 -> 16, v_proj 16 -> 8 (2 kv heads of 4).
  std::map<std::string, std::vector<int64_t>> want;
  for (int l = 0; l < 2; ++l) {
    const std::string p = "base_model.model.model.layers." + std::to_string(l) + ".self_attn.";
    want[p + "q_proj.lora_A.weight"] = {4, 16};
    want[p + "q_proj.lora_B.weight"] = {16, 4};
    want[p + "v_proj.lora_A.weight"] = {4, 16};
    want[p + "v_proj.lora_B.weight"] = {8, 4};
  }
  std::map<std::string, std::vector<int64_t>> got;
  const SafetensorsFile st = SafetensorsFile::open(out + "/adapter_model.safetensors");
  for (const SafetensorsTensorInfo& t : st.tensors()) {
    EXPECT_EQ(t.dtype, "F32") << t.name;
    got[t.name] = t.shape;
  }
  EXPECT_EQ(got, want);
}

TEST_F(TrainCommand, LogRecordsEveryStepAndEvaluation) {
  // 12 examples / batch 5 = 3 batches; accum 2 -> 2 steps per epoch; 3 epochs -> 6 steps.
  const std::string out = file("log");
  train_ok(out,
           {"--epochs", "3", "--batch-size", "5", "--grad-accum", "2", "--scheduler", "constant",
            "--lr", "0.003", "--eval-data", file("eval.jsonl"), "--eval-every", "2"});
  const std::vector<json> log = read_log(out);
  const std::vector<json> steps = step_lines(log);
  const int64_t batches = (kTrainExamples + 4) / 5, per_epoch = (batches + 1) / 2;
  ASSERT_EQ(per_epoch, 2);
  ASSERT_EQ(steps.size(), static_cast<size_t>(3 * per_epoch));
  int64_t tokens = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const json& s = steps[i];
    SCOPED_TRACE(s.dump());
    for (const char* key : {"step", "epoch", "loss", "lr", "grad_norm", "tokens", "tokens_per_s"})
      EXPECT_TRUE(s.contains(key)) << key;
    EXPECT_EQ(s.at("step"), static_cast<int64_t>(i + 1));
    EXPECT_EQ(s.at("epoch"), static_cast<int64_t>(i / 2));
    EXPECT_EQ(s.at("lr"), 0.003);
    EXPECT_GT(s.at("loss").get<double>(), 0.0);
    EXPECT_GT(s.at("grad_norm").get<double>(), 0.0);
    EXPECT_GT(s.at("tokens_per_s").get<double>(), 0.0);
    tokens += s.at("tokens").get<int64_t>();
  }
  EXPECT_EQ(tokens, 3 * train_tokens());  // every epoch sees every token once

  // Evaluations at the start, every 2 steps and at the end.
  std::vector<int64_t> eval_steps;
  double first_eval = 0.0;
  for (const json& j : log)
    if (j.contains("eval_loss")) {
      if (eval_steps.empty()) first_eval = j.at("eval_loss").get<double>();
      eval_steps.push_back(j.at("step").get<int64_t>());
      EXPECT_NEAR(j.at("eval_perplexity").get<double>(), std::exp(j.at("eval_loss").get<double>()),
                  1e-9 * j.at("eval_perplexity").get<double>());
    }
  EXPECT_EQ(eval_steps, (std::vector<int64_t>{0, 2, 4, 6}));
  // Before training the adapter is the identity (B = 0): `eval` of the base model agrees.
  const RunResult e =
      run({"eval", "--model", model(), "--data", file("eval.jsonl"), "--seq-len", "20", "--json"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NEAR(first_eval, json::parse(e.out).at("loss").get<double>(), 1e-5);

  // --max-steps overrides --epochs: 12 / 4 = 3 steps per epoch, so 4 steps reach epoch 1.
  const std::string capped = file("log-capped");
  train_ok(capped, {"--epochs", "3", "--batch-size", "4", "--max-steps", "4"});
  const std::vector<json> capped_steps = step_lines(read_log(capped));
  ASSERT_EQ(capped_steps.size(), 4u);
  EXPECT_EQ(capped_steps.back().at("step"), 4);
  EXPECT_EQ(capped_steps.back().at("epoch"), 1);
  EXPECT_TRUE(fs::exists(capped + "/adapter_model.safetensors"));
  // Without --eval-data nothing is evaluated.
  for (const json& j : read_log(capped)) EXPECT_FALSE(j.contains("eval_loss")) << j.dump();
}

TEST_F(TrainCommand, SkipBackpropLayersLeavesTheFirstLayersOut) {
  const std::string out = file("skip");
  train_ok(out, {"--skip-backprop-layers", "1", "--max-steps", "2", "--lora-r", "2"});
  EXPECT_EQ(adapter_config(out).at("layers_to_transform"), json::array({1}));
  int layer1 = 0;
  for (const auto& [name, values] : adapter_tensors(out)) {
    EXPECT_EQ(name.find("layers.0."), std::string::npos) << name;
    layer1 += name.find("layers.1.") != std::string::npos;
  }
  EXPECT_EQ(layer1, 14);  // 7 projections x (A, B)
}

TEST_F(TrainCommand, InitAdapterSetsTheShape) {
  LoraConfig lc;
  lc.r = 3;
  lc.alpha = 6.0f;
  lc.targets = parse_lora_targets("k_proj,down_proj");
  save_peft_adapter(file("init-r3"), testing::random_adapter(weights_->config, lc, 4, 0.5f),
                    "tiny");
  const std::string out = file("from-init");
  train_ok(out, {"--init-adapter", file("init-r3"), "--lora-r", "8", "--lora-targets", "all",
                 "--max-steps", "1"});
  const json c = adapter_config(out);
  EXPECT_EQ(c.at("r"), 3);
  EXPECT_EQ(c.at("lora_alpha"), 6.0);
  EXPECT_EQ(c.at("target_modules").get<std::set<std::string>>(),
            (std::set<std::string>{"k_proj", "down_proj"}));
  const auto tensors = adapter_tensors(out);
  EXPECT_EQ(tensors.size(), 8u);
  const SafetensorsFile st = SafetensorsFile::open(out + "/adapter_model.safetensors");
  const SafetensorsTensorInfo* a =
      st.find("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{3, 24}));
}

TEST_F(TrainCommand, BadDataFails) {
  test::write_text(file("bad.jsonl"), "{\"text\": \"abc\"}\n{\"text\": \"abc\"\n");
  expect_train_failure({}, {file("bad.jsonl"), "line 2"}, file("bad.jsonl"));
  test::write_text(file("empty.jsonl"), "\n");
  expect_train_failure({}, {file("empty.jsonl"), "no examples"}, file("empty.jsonl"));
  expect_train_failure({}, {file("nope.jsonl")}, file("nope.jsonl"));
}

TEST_F(TrainCommand, BadFlagsFail) {
  expect_train_failure({"--lora-targets", "q_proj,bogus_proj"}, {"bogus_proj"});
  expect_train_failure({"--seq-len", "64"}, {"--seq-len 64", "context of 32"});
  expect_train_failure({"--mode", "nonsense"}, {"--mode", "nonsense"});
  expect_train_failure({"--mode", "quantized", "--base-precision", "bf16"},
                       {"--base-precision bf16", "--mode clear"});
  expect_train_failure({"--base-precision", "fp16"}, {"--base-precision", "fp16"});
  expect_train_failure({"--resume"}, {"--resume", "no checkpoint"});

  // An adapter for a model of another width (dim 24 instead of 16).
  LlamaConfig wide = weights_->config;
  wide.dim = 24;
  LoraConfig lc;
  lc.r = 2;
  lc.targets = parse_lora_targets("q_proj");
  LoraAdapter other(wide, lc);
  other.init_peft_default(1);
  save_peft_adapter(file("wide-adapter"), other, "wide");
  expect_train_failure({"--init-adapter", file("wide-adapter")},
                       {file("wide-adapter"), "another model"});
}

TEST_F(TrainCommand, ExistingAdapterIsNotOverwritten) {
  const std::string out = file("existing");
  train_ok(out, {"--max-steps", "1", "--lora-r", "2"});
  const auto before = snapshot(out);
  ASSERT_TRUE(before.count("adapter_model.safetensors"));
  test::expect_failure(train_args(out, {"--max-steps", "1", "--lora-r", "2"}), {out, "--resume"});
  EXPECT_EQ(snapshot(out), before);
}

TEST_F(TrainCommand, ResumeWithOtherFlagsFails) {
  const std::string out = file("resume-other");
  train_ok(out, {"--max-steps", "4", "--stop-after", "1", "--lora-r", "2"});
  const auto before = snapshot(out);
  test::expect_failure(
      train_args(out, {"--max-steps", "4", "--lora-r", "2", "--lr", "0.5", "--resume"}),
      {"checkpoint", "other training options"});
  EXPECT_EQ(snapshot(out), before);
}

}  // namespace
}  // namespace cipherlora
