// Test tool: one forward+backward of the mean loss over every example of a JSONL file (one batch)
// with a PEFT adapter, writing the adapter gradients under peft's tensor names plus the loss to a
// safetensors file. tests/reference/test_engine_reference.py compares them with torch autograd.
//
//   grad_dump --model M.gguf --adapter DIR --data FILE.jsonl --out grads.safetensors
#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/error.h"
#include "data/jsonl_dataset.h"
#include "formats/safetensors.h"
#include "model/model_session.h"
#include "model/peft_adapter.h"

int main(int argc, char** argv) {
  using namespace cipherlora;
  CLI::App app{"dump LoRA gradients for reference tests"};
  std::string model, adapter, data, out;
  int64_t seq_len = 512;
  app.add_option("--model", model)->required();
  app.add_option("--adapter", adapter)->required();
  app.add_option("--data", data)->required();
  app.add_option("--out", out)->required();
  app.add_option("--seq-len", seq_len);
  CLI11_PARSE(app, argc, argv);
  try {
    ModelSession s = open_model_session(model, adapter);
    DatasetOptions opt;
    opt.default_system = s.default_system;
    std::vector<Example> ex = load_jsonl(data, *s.tokenizer, opt);
    std::vector<const Example*> all;
    for (const Example& e : ex) all.push_back(&e);
    TokenBatch batch = make_batch(all, seq_len, s.tokenizer->pad_id());
    const int64_t n = batch.n_targets();
    s.adapter->zero_grad();
    const double loss = s.model->forward_backward(batch, 1.0f / static_cast<float>(n));
    std::vector<NamedTensor> t;
    t.push_back({"loss", {1}, {static_cast<float>(loss / n)}});
    const LoraAdapter& a = *s.adapter;
    for (int64_t l = 0; l < a.n_layers(); ++l)
      for (Proj p : a.config().targets) {
        const LoraPair& pair = a.at(l, p);
        if (!pair.active()) continue;
        t.push_back({peft_tensor_name(l, p, 'A'), {a.config().r, pair.in}, pair.dA});
        t.push_back({peft_tensor_name(l, p, 'B'), {pair.out, a.config().r}, pair.dB});
      }
    write_safetensors(out, t);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
