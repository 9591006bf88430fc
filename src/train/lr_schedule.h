// Learning-rate schedules exactly as Hugging Face transformers computes them
// (get_constant_schedule_with_warmup, get_linear_schedule_with_warmup,
// get_cosine_schedule_with_warmup with num_cycles 0.5, each driven by torch's LambdaLR): the rate
// for an optimizer step is base_lr times a factor of the number of optimizer steps already taken,
// so the first step uses the factor at 0 (which is 0 during a warmup). "constant" with 0 warmup
// steps is a plain constant rate.
//
//   Schedule s = parse_schedule("cosine");
//   for (int64_t step = 0; step < total; ++step)
//     opt.step(lr_at(s, 2e-4, step, /*warmup_steps=*/10, total));
#pragma once

#include <cstdint>
#include <string>

namespace cipherlora {

enum class Schedule { constant, linear, cosine };

// "constant", "linear" or "cosine"; throws Error naming the valid ones otherwise.
Schedule parse_schedule(const std::string& name);
const char* schedule_name(Schedule s);

// Multiplier of the base rate after `step` optimizer steps (HF's lr_lambda(step)). Warmup rises
// linearly from 0; linear then falls to 0 at total_steps; cosine follows 0.5·(1 + cos(π·progress))
// and, past total_steps, keeps following the cosine as HF does. Throws Error if step,
// warmup_steps or total_steps is negative.
double lr_factor(Schedule s, int64_t step, int64_t warmup_steps, int64_t total_steps);

// base_lr · lr_factor(...), multiplied in that order as LambdaLR does.
double lr_at(Schedule s, double base_lr, int64_t step, int64_t warmup_steps, int64_t total_steps);

}  // namespace cipherlora
