// Token-level cross-entropy over a vocabulary, fused with its gradient, plus the softmax/argmax/
// sampling helpers that generation needs. Softmax is max-subtracted and the loss uses a
// double-precision log-sum-exp, so large logits neither overflow nor lose the loss's precision.
//
//   // Mean loss over the n_valid non-ignored tokens and its gradient, in one pass:
//   double sum = cross_entropy_forward_backward(logits, labels, T, V, 1.0f / n_valid, nullptr);
//   double mean_loss = sum / n_valid;   // logits now hold dL/dlogits
#pragma once

#include <cstdint>

namespace cipherlora {

// Label value of a token that does not count (prompt tokens, padding), as in torch/HF.
inline constexpr int32_t kIgnoreIndex = -100;

// logits: [T, V] in place -> dlogits; labels: [T] in [0, V) or kIgnoreIndex;
// per_row_loss: [T] or null (0 for ignored rows).
// Returns Σ over non-ignored rows of -log softmax(logits[t])[labels[t]] and overwrites each
// non-ignored row with grad_scale · (softmax - onehot(label)), each ignored row with 0.
// Throws Error if a label is neither kIgnoreIndex nor in [0, V).
double cross_entropy_forward_backward(float* logits, const int32_t* labels, int64_t T, int64_t V,
                                      float grad_scale, double* per_row_loss);

// Same loss without the gradient; logits: [T, V] unchanged.
double cross_entropy_forward(const float* logits, const int32_t* labels, int64_t T, int64_t V,
                             double* per_row_loss);

// x: [n] in place -> softmax(x / temperature), max-subtracted. temperature > 0.
void softmax(float* x, int64_t n, float temperature = 1.0f);

// Index of the largest of x: [n] (the first one on ties). n > 0.
int32_t argmax(const float* x, int64_t n);

// Draws a token from softmax(logits / temperature) by inverting the CDF at u in [0, 1).
// temperature <= 0 means greedy (argmax). logits: [n] unchanged; scratch: [n].
int32_t sample_token(const float* logits, int64_t n, float temperature, double u, float* scratch);

}  // namespace cipherlora
