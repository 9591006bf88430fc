// AdamW exactly as torch.optim.AdamW computes it (decoupled weight decay, no amsgrad), in the same
// fp32 order of operations as torch's default single-tensor CPU path, so that a run here and a run
// in PyTorch from the same parameters and gradients agree to float rounding. The optimizer keeps
// pointers to the parameter and gradient arrays it was given; the learning rate comes from the
// schedule at every step (see lr_schedule.h). State (moments and step count) saves and loads
// bit-exactly, so a resumed run continues exactly as an uninterrupted one.
//
//   AdamW opt(AdamWConfig{.weight_decay = 0.01});
//   opt.add_param(pair.A, pair.dA);                 // spans over [r, in] values and gradients
//   opt.add_param(pair.B, pair.dB);
//   opt.step(lr_at(Schedule::cosine, 2e-4, opt.steps(), warmup, total));
//   std::vector<float> state;  opt.save_state(state);   // checkpoint with opt.steps()
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace cipherlora {

// Hyper-parameters as torch takes them: Python floats, i.e. doubles. They stay doubles until torch
// would round them to fp32 (1 - beta1 is 0.09999999999999998 as a double and rounds to 0.1f, while
// 1 - 0.9f is 0.100000024f).
struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  void validate() const;  // throws Error unless 0 <= beta < 1, eps >= 0, weight_decay >= 0
};

class AdamW {
 public:
  explicit AdamW(AdamWConfig cfg);

  // Registers a parameter tensor and its gradient (same length, flat). Both arrays must stay
  // where they are for the optimizer's lifetime; the moments start at zero.
  void add_param(std::span<float> param, std::span<const float> grad);

  // One optimizer step over every registered tensor with learning rate lr (>= 0; a warmup step with
  // lr = 0 still advances the moments and the step count, as torch does).
  void step(double lr);

  int64_t steps() const { return steps_; }
  int64_t n_params() const { return n_values_; }  // total registered values
  const AdamWConfig& config() const { return cfg_; }

  // Optimizer state for checkpoints: every tensor's first moment then its second moment, tensors
  // in registration order; 2 · n_params() floats. load_state expects the same layout and the same
  // registered tensors, and throws Error on a size mismatch or a negative step count.
  void save_state(std::vector<float>& out) const;
  void load_state(const std::vector<float>& in, int64_t steps);

 private:
  struct Slot {
    std::span<float> param;
    std::span<const float> grad;
    std::vector<float> exp_avg;     // m, [n]
    std::vector<float> exp_avg_sq;  // v, [n]
  };
  AdamWConfig cfg_;
  std::vector<Slot> slots_;
  int64_t n_values_ = 0;
  int64_t steps_ = 0;
};

}  // namespace cipherlora
