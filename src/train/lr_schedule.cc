#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "common/error.h"

namespace cipherlora {

Schedule parse_schedule(const std::string& name) {
  if (name == "constant") return Schedule::constant;
  if (name == "linear") return Schedule::linear;
  if (name == "cosine") return Schedule::cosine;
  throw Error("unknown learning-rate schedule '" + name + "' (valid: constant, linear, cosine)");
}

const char* schedule_name(Schedule s) {
  switch (s) {
    case Schedule::constant:
      return "constant";
    case Schedule::linear:
      return "linear";
    case Schedule::cosine:
      return "cosine";
  }
  return "?";
}

// Each branch is the Python expression of transformers/optimization.py, in the same order; Python
// ints become int64 and floats doubles.
double lr_factor(Schedule s, int64_t step, int64_t warmup_steps, int64_t total_steps) {
  require(step >= 0 && warmup_steps >= 0 && total_steps >= 0,
          "schedule steps must be >= 0 (step " + std::to_string(step) + ", warmup " +
              std::to_string(warmup_steps) + ", total " + std::to_string(total_steps) + ")");
  if (step < warmup_steps)
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_steps));
  const auto decay_steps = static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  switch (s) {
    case Schedule::constant:
      return 1.0;
    case Schedule::linear:
      return std::max(0.0, static_cast<double>(total_steps - step) / decay_steps);
    case Schedule::cosine: {
      const double progress = static_cast<double>(step - warmup_steps) / decay_steps;
      const double num_cycles = 0.5;
      return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * num_cycles * 2.0 * progress)));
    }
  }
  return 1.0;
}

double lr_at(Schedule s, double base_lr, int64_t step, int64_t warmup_steps, int64_t total_steps) {
  return base_lr * lr_factor(s, step, warmup_steps, total_steps);
}

}  // namespace cipherlora
