// The one seam between the model and the base model's frozen linear layers (DESIGN.md, "one seam").
//
// A LinearBackend holds a frozen weight W of shape [out, in] (Hugging Face's layout) — or several
// same-input weights fused by concatenating their rows (q,k,v; gate,up) — and offers the two
// products training needs: forward Y = X·Wᵀ and backward dX = dY·W. Base weights get no gradient,
// so there is no third call. Backends differ in *where and how* the product runs (clear fp32 GEMM,
// quantized integer arithmetic, encrypted on a worker); the model is unaware which one it has.
//
//   auto qkv = make_clear_backend("layers.0.qkv", std::move(w), /*out=*/960, /*in=*/576);
//   qkv->forward(x, T, y);      // x [T, 576] -> y [T, 960]
//   qkv->backward(dy, T, dx);   // dy [T, 960] -> dx [T, 576]
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cipherlora {

class LinearBackend {
 public:
  virtual ~LinearBackend() = default;

  virtual int64_t in_features() const = 0;
  virtual int64_t out_features() const = 0;

  // y[T, out] = x[T, in] · Wᵀ   (y is overwritten)
  virtual void forward(const float* x, int64_t T, float* y) = 0;

  // dx[T, in] = dy[T, out] · W   (dx is overwritten)
  virtual void backward(const float* dy, int64_t T, float* dx) = 0;

  // The fp32 weight [out, in] when the backend keeps one in clear (the clear backend does), else
  // nullptr. Used by generation and tests; the product never needs it for training.
  virtual const float* clear_weight() const { return nullptr; }
};

// Builds the backend of one frozen linear (or fused group) from its fp32 weight [out, in]. `name`
// identifies the layer in errors and logs (e.g. "layers.3.gate_up").
using LinearBackendFactory = std::function<std::unique_ptr<LinearBackend>(
    const std::string& name, std::vector<float> weight, int64_t out, int64_t in)>;

}  // namespace cipherlora
