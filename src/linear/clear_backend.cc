#include "linear/clear_backend.h"

#include "common/error.h"
#include "tensor/bf16_gemm.h"
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

// The same products with bf16 operands: the weight rounded once here, x and dy on every call.
class Bf16ClearBackend final : public LinearBackend {
 public:
  Bf16ClearBackend(const std::vector<float>& weight, int64_t out, int64_t in)
      : w_(weight.size()), out_(out), in_(in) {
    round_to_bf16(weight.data(), static_cast<int64_t>(weight.size()), w_.data());
  }

  int64_t in_features() const override { return in_; }
  int64_t out_features() const override { return out_; }

  void forward(const float* x, int64_t T, float* y) override {
    // y[T, out] = x[T, in] · W[out, in]ᵀ
    const uint16_t* xb = rounded(x, T * in_);
    bf16_gemm(false, true, T, out_, in_, xb, in_, w_.data(), in_, y, out_);
  }

  void backward(const float* dy, int64_t T, float* dx) override {
    // dx[T, in] = dy[T, out] · W[out, in]
    const uint16_t* dyb = rounded(dy, T * out_);
    bf16_gemm(false, false, T, in_, out_, dyb, out_, w_.data(), in_, dx, in_);
  }

 private:
  // src rounded into the work buffer, which grows to the largest call and is then reused.
  const uint16_t* rounded(const float* src, int64_t n) {
    if (static_cast<int64_t>(buf_.size()) < n) buf_.resize(n);
    round_to_bf16(src, n, buf_.data());
    return buf_.data();
  }

  std::vector<uint16_t> w_;    // [out, in] bf16
  std::vector<uint16_t> buf_;  // [T, in] or [T, out] bf16: the call's rounded input
  int64_t out_, in_;
};

}  // namespace

std::unique_ptr<LinearBackend> make_clear_backend(const std::string& name,
                                                  std::vector<float> weight, int64_t out,
                                                  int64_t in, Precision precision) {
  require(out > 0 && in > 0 && static_cast<int64_t>(weight.size()) == out * in,
          "linear " + name + ": weight holds " + std::to_string(weight.size()) +
              " values, expected " + std::to_string(out) + " x " + std::to_string(in));
  if (precision == Precision::bf16) return std::make_unique<Bf16ClearBackend>(weight, out, in);
  return std::make_unique<ClearBackend>(std::move(weight), out, in);
}

LinearBackendFactory clear_backend_factory(Precision precision) {
  return [precision](const std::string& name, std::vector<float> weight, int64_t out, int64_t in) {
    return make_clear_backend(name, std::move(weight), out, in, precision);
  };
}

}  // namespace cipherlora
