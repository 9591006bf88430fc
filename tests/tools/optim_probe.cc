// Test tool: runs the trainer's exact-math pieces (learning-rate schedule, gradient clipping,
// AdamW, epoch shuffling) on a JSON spec and prints what they produced as JSON, for
// tests/reference/test_optim_reference.py to compare with torch and transformers.
//
//   optim_probe spec.json        (or "-" / nothing: the spec on stdin)
//
// Spec: {"params": [[...], ...],              initial tensors
//        "grads": [[[...], ...], ...],        [step][tensor][value]
//        "lr": 1e-3, "schedule": "cosine", "warmup_steps": 2, "total_steps": 8,
//        "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01,
//        "max_grad_norm": 1.0,                0: no clipping
//        "resume_at": 3,                      optional: continue from saved state before step 3
//        "permutations": [[n, seed, epoch], ...]}   optional
// Output: {"params": [step][tensor][value] after each step, "grad_norms": [...], "lrs": [...],
//          "permutations": [[...], ...]}
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "train/adamw.h"
#include "train/grad_clip.h"
#include "train/lr_schedule.h"
#include "train/shuffle.h"

namespace {

using cipherlora::AdamW;
using cipherlora::AdamWConfig;
using nlohmann::json;

json run(const json& spec) {
  using namespace cipherlora;
  auto params = spec.at("params").get<std::vector<std::vector<float>>>();
  const auto grads_per_step = spec.at("grads").get<std::vector<std::vector<std::vector<float>>>>();
  std::vector<std::vector<float>> grads(params.size());
  for (size_t t = 0; t < params.size(); ++t) grads[t].resize(params[t].size());

  AdamWConfig cfg;
  cfg.beta1 = spec.at("betas").at(0).get<double>();
  cfg.beta2 = spec.at("betas").at(1).get<double>();
  cfg.eps = spec.at("eps").get<double>();
  cfg.weight_decay = spec.at("weight_decay").get<double>();
  auto make_optimizer = [&] {
    auto opt = std::make_unique<AdamW>(cfg);
    for (size_t t = 0; t < params.size(); ++t) opt->add_param(params[t], grads[t]);
    return opt;
  };
  std::unique_ptr<AdamW> opt = make_optimizer();
  std::vector<std::span<float>> grad_spans(grads.begin(), grads.end());

  const Schedule schedule = parse_schedule(spec.at("schedule").get<std::string>());
  const double base_lr = spec.at("lr").get<double>();
  const auto warmup = spec.at("warmup_steps").get<int64_t>();
  const auto total = spec.at("total_steps").get<int64_t>();
  const double max_grad_norm = spec.at("max_grad_norm").get<double>();
  const auto resume_at = spec.value("resume_at", int64_t{-1});

  json out = {{"params", json::array()}, {"grad_norms", json::array()}, {"lrs", json::array()}};
  for (size_t s = 0; s < grads_per_step.size(); ++s) {
    if (static_cast<int64_t>(s) == resume_at) {  // as a resumed run would: fresh optimizer
      std::vector<float> state;
      opt->save_state(state);
      const int64_t done = opt->steps();
      opt = make_optimizer();
      opt->load_state(state, done);
    }
    require(grads_per_step[s].size() == params.size(),
            "step " + std::to_string(s) + ": wrong number of gradients");
    for (size_t t = 0; t < params.size(); ++t) {
      require(grads_per_step[s][t].size() == params[t].size(), "gradient size mismatch");
      // copied into place: the optimizer keeps pointers to these arrays
      std::copy(grads_per_step[s][t].begin(), grads_per_step[s][t].end(), grads[t].begin());
    }
    const double lr = lr_at(schedule, base_lr, opt->steps(), warmup, total);
    const double norm = max_grad_norm > 0.0 ? clip_grad_norm(grad_spans, max_grad_norm)
                                            : global_grad_norm(grad_spans);
    opt->step(lr);
    out["params"].push_back(params);
    out["grad_norms"].push_back(norm);
    out["lrs"].push_back(lr);
  }
  if (spec.contains("permutations")) {
    out["permutations"] = json::array();
    for (const json& p : spec.at("permutations"))
      out["permutations"].push_back(epoch_permutation(
          p.at(0).get<int64_t>(), p.at(1).get<uint64_t>(), p.at(2).get<int64_t>()));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"run AdamW, clipping, schedules and shuffling on a JSON spec"};
  std::string spec_path = "-";
  app.add_option("spec", spec_path, "JSON spec file, or - for stdin");
  CLI11_PARSE(app, argc, argv);
  try {
    json spec;
    if (spec_path == "-") {
      spec = json::parse(std::cin);
    } else {
      std::ifstream in(spec_path);
      cipherlora::require(in.good(), "cannot open " + spec_path);
      spec = json::parse(in);
    }
    std::cout << run(spec).dump() << "\n";
  } catch (const cipherlora::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const json::exception& e) {
    std::fprintf(stderr, "error: bad spec: %s\n", e.what());
    return 1;
  }
  return 0;
}
