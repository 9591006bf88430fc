#include "train/adamw.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "common/error.h"

namespace cipherlora {

namespace {

// Below this many values a tensor is updated on one thread: LoRA tensors are small and many.
constexpr int64_t kParallelMin = 1 << 15;

// Scalars of one step, rounded to fp32 where torch rounds them (a Python float meeting an fp32
// tensor becomes an fp32 scalar of the kernel).
struct StepScalars {
  float decay;          // 1 - lr · weight_decay
  float avg_weight;     // 1 - beta1, the lerp weight of the first moment
  float beta2;          // beta2
  float sq_weight;      // 1 - beta2
  float bc2_sqrt;       // sqrt(1 - beta2^t)
  float eps;            // eps
  float neg_step_size;  // -lr / (1 - beta1^t)
};

// torch.lerp(start, end, w): the two forms keep the result exact at w = 0 and w = 1.
inline float lerp(float start, float end, float w) {
  return std::abs(w) < 0.5f ? start + w * (end - start) : end - (end - start) * (1.0f - w);
}

// torch's _single_tensor_adam for one tensor, fused per element (each element's update depends on
// that element only, so fusing the tensor-wide ops does not change any result):
//   param.mul_(1 - lr*wd); exp_avg.lerp_(grad, 1 - beta1);
//   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2);
//   denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps);
//   param.addcdiv_(exp_avg, denom, value=-step_size)
void adamw_update(const StepScalars& s, bool decay, float* param, const float* grad, float* m,
                  float* v, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    float p = param[i];
    if (decay) p = p * s.decay;
    const float g = grad[i];
    m[i] = lerp(m[i], g, s.avg_weight);
    v[i] = v[i] * s.beta2;
    v[i] = v[i] + s.sq_weight * g * g;  // addcmul: self + value * t1 * t2, left to right
    const float denom = std::sqrt(v[i]) / s.bc2_sqrt + s.eps;
    param[i] = p + s.neg_step_size * m[i] / denom;  // addcdiv: self + value * t1 / t2
  }
}

}  // namespace

void AdamWConfig::validate() const {
  require(beta1 >= 0.0 && beta1 < 1.0,
          "AdamW beta1 must be in [0, 1), got " + std::to_string(beta1));
  require(beta2 >= 0.0 && beta2 < 1.0,
          "AdamW beta2 must be in [0, 1), got " + std::to_string(beta2));
  require(eps >= 0.0, "AdamW eps must be >= 0, got " + std::to_string(eps));
  require(weight_decay >= 0.0,
          "AdamW weight decay must be >= 0, got " + std::to_string(weight_decay));
}

AdamW::AdamW(AdamWConfig cfg) : cfg_(cfg) {
  cfg_.validate();
}

void AdamW::add_param(std::span<float> param, std::span<const float> grad) {
  require(param.size() == grad.size(), "AdamW parameter of " + std::to_string(param.size()) +
                                           " values has a gradient of " +
                                           std::to_string(grad.size()));
  Slot s;
  s.param = param;
  s.grad = grad;
  s.exp_avg.assign(param.size(), 0.0f);
  s.exp_avg_sq.assign(param.size(), 0.0f);
  slots_.push_back(std::move(s));
  n_values_ += static_cast<int64_t>(param.size());
}

void AdamW::step(double lr) {
  require(lr >= 0.0, "learning rate must be >= 0, got " + std::to_string(lr));
  ++steps_;
  // torch keeps the step count in an fp32 tensor and raises Python floats to it.
  const double t = static_cast<double>(static_cast<float>(steps_));
  const double bias_correction1 = 1.0 - std::pow(cfg_.beta1, t);
  const double bias_correction2 = 1.0 - std::pow(cfg_.beta2, t);
  const double step_size = lr / bias_correction1;
  StepScalars s;
  s.decay = static_cast<float>(1.0 - lr * cfg_.weight_decay);
  s.avg_weight = static_cast<float>(1.0 - cfg_.beta1);
  s.beta2 = static_cast<float>(cfg_.beta2);
  s.sq_weight = static_cast<float>(1.0 - cfg_.beta2);
  s.bc2_sqrt = static_cast<float>(std::pow(bias_correction2, 0.5));  // Python's bc2 ** 0.5
  s.eps = static_cast<float>(cfg_.eps);
  s.neg_step_size = static_cast<float>(-step_size);
  const bool decay = cfg_.weight_decay != 0.0;  // torch skips the multiply when it is 0
  for (Slot& slot : slots_)
    adamw_update(s, decay, slot.param.data(), slot.grad.data(), slot.exp_avg.data(),
                 slot.exp_avg_sq.data(), static_cast<int64_t>(slot.param.size()));
}

void AdamW::save_state(std::vector<float>& out) const {
  out.clear();
  out.reserve(static_cast<size_t>(2 * n_values_));
  for (const Slot& slot : slots_) {
    out.insert(out.end(), slot.exp_avg.begin(), slot.exp_avg.end());
    out.insert(out.end(), slot.exp_avg_sq.begin(), slot.exp_avg_sq.end());
  }
}

void AdamW::load_state(const std::vector<float>& in, int64_t steps) {
  require(static_cast<int64_t>(in.size()) == 2 * n_values_,
          "optimizer state holds " + std::to_string(in.size()) + " values, expected " +
              std::to_string(2 * n_values_) + " for " + std::to_string(n_values_) +
              " trainable parameters");
  require(steps >= 0, "optimizer step count must be >= 0, got " + std::to_string(steps));
  auto it = in.begin();
  for (Slot& slot : slots_) {
    const auto n = static_cast<std::ptrdiff_t>(slot.param.size());
    std::copy(it, it + n, slot.exp_avg.begin());
    it += n;
    std::copy(it, it + n, slot.exp_avg_sq.begin());
    it += n;
  }
  steps_ = steps;
}

}  // namespace cipherlora
