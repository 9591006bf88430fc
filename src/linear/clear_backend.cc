#include "linear/clear_backend.h"

#include "common/error.h"
#include "tensor/gemm.h"

namespace cipherlora {
namespace {

class ClearBackend final : public LinearBackend {
 public:
  ClearBackend(std::vector<float> weight, int64_t out, int64_t in)
      : w_(std::move(weight)), out_(out), in_(in) {}

  int64_t in_features() const override { return in_; }
  int64_t out_features() const override { return out_; }

  void forward(const float* x, int64_t T, float* y) override {
    // y[T, out] = x[T, in] · W[out, in]ᵀ
    sgemm(false, true, T, out_, in_, 1.0f, x, in_, w_.data(), in_, 0.0f, y, out_);
  }

  void backward(const float* dy, int64_t T, float* dx) override {
    // dx[T, in] = dy[T, out] · W[out, in]
    sgemm(false, false, T, in_, out_, 1.0f, dy, out_, w_.data(), in_, 0.0f, dx, in_);
  }

  const float* clear_weight() const override { return w_.data(); }

 private:
  std::vector<float> w_;  // [out, in]
  int64_t out_, in_;
};

}  // namespace

std::unique_ptr<LinearBackend> make_clear_backend(const std::string& name,
                                                  std::vector<float> weight, int64_t out,
                                                  int64_t in) {
  require(out > 0 && in > 0 && static_cast<int64_t>(weight.size()) == out * in,
          "linear " + name + ": weight holds " + std::to_string(weight.size()) +
              " values, expected " + std::to_string(out) + " x " + std::to_string(in));
  return std::make_unique<ClearBackend>(std::move(weight), out, in);
}

LinearBackendFactory clear_backend_factory() {
  return [](const std::string& name, std::vector<float> weight, int64_t out, int64_t in) {
    return make_clear_backend(name, std::move(weight), out, in);
  };
}

}  // namespace cipherlora
