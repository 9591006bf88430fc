// Gradient-norm clipping as torch.nn.utils.clip_grad_norm_ does it: the L2 norm of all gradients
// taken as one vector, and when it exceeds max_norm every gradient is scaled by
// max_norm / (norm + 1e-6). The norm is summed in double in a fixed order (fixed-size chunks,
// fixed lanes, partial sums added in sequence), so it is the same for any thread count and on any
// IEEE machine.
//
//   std::vector<std::span<float>> grads = {pair.dA, pair.dB};
//   double norm = clip_grad_norm(grads, /*max_norm=*/1.0);   // the norm before clipping
#pragma once

#include <span>
#include <vector>

namespace cipherlora {

// sqrt(Σ g²) over every value of every tensor; 0 for no tensors.
double global_grad_norm(const std::vector<std::span<const float>>& grads);
double global_grad_norm(const std::vector<std::span<float>>& grads);

// Scales every gradient by min(1, max_norm / (norm + 1e-6)) in fp32 as torch does, and returns the
// norm before clipping. A non-finite norm propagates into the gradients (as in torch); the caller
// decides whether to skip the step. Throws Error unless max_norm > 0.
double clip_grad_norm(const std::vector<std::span<float>>& grads, double max_norm);

}  // namespace cipherlora
