#include "linear/quantized_backend.h"

#include "common/error.h"
#include "common/grow.h"
#include "linear/quantized_product.h"
#include "linear/quantized_weight.h"
#include "linear/quantizer.h"

namespace cipherlora {
namespace {

class QuantizedBackend final : public LinearBackend {
 public:
  QuantizedBackend(std::string name, const std::vector<float>& weight, int64_t out, int64_t in,
                   int n_bits, Int8Kernel kernel)
      : name_(std::move(name)),
        out_(out),
        in_(in),
        n_bits_(n_bits),
        kernel_(kernel),
        w_(weight.data(), out, in) {}

  int64_t in_features() const override { return in_; }
  int64_t out_features() const override { return out_; }

  void forward(const float* x, int64_t T, float* y) override {
    // y[T, out] = x[T, in] · Wᵀ: op(B) = Wqᵀ, i.e. Wq [out, in] read transposed.
    const Int8Operand w{w_.wq.data(),   in_, out_, /*trans=*/true, w_.row_sum.data(),
                        w_.scale.data()};
    run(x, T, in_, nullptr, w, y, "forward");
  }

  void backward(const float* dy, int64_t T, float* dx) override {
    // dx[T, in] = G[T, out] · W with G = dy · diag(w_scale): op(B) = Wq [out, in] as is.
    const Int8Operand w{w_.wq.data(), out_, in_, /*trans=*/false, w_.col_sum.data(), nullptr};
    run(dy, T, out_, w_.scale.data(), w, dx, "backward");
  }

 private:
  // Quantizes a [T, K] (times col_scale [K] when given) and multiplies it with w into y [T, N].
  void run(const float* a, int64_t T, int64_t K, const float* col_scale, const Int8Operand& w,
           float* y, const char* what) {
    if (T <= 0) return;
    grow(q_lo_, T * K);
    if (n_bits_ > 8) grow(q_hi_, T * K);
    grow(scale_, T);
    grow(zp_, T);
    uint8_t* q_hi = n_bits_ > 8 ? q_hi_.data() : nullptr;
    try {
      quantize_per_token_bytes(a, T, K, n_bits_, q_lo_.data(), q_hi, scale_.data(), zp_.data(),
                               col_scale);
    } catch (const Error& e) {
      throw Error("linear " + name_ + " " + what + ": " + e.what());
    }
    const QuantizedTokens q{T, K, n_bits_, q_lo_.data(), q_hi, scale_.data(), zp_.data()};
    quantized_product(kernel_, q, w, product_buffers_, y);
  }

  std::string name_;
  int64_t out_, in_;
  int n_bits_;
  Int8Kernel kernel_;
  QuantizedWeight w_;
  // Scratch reused across calls.
  std::vector<uint8_t> q_lo_, q_hi_;  // [T, K]
  std::vector<float> scale_;          // [T]
  std::vector<int32_t> zp_;           // [T]
  QuantizedProductBuffers product_buffers_;
};

}  // namespace

std::unique_ptr<LinearBackend> make_quantized_backend(const std::string& name,
                                                      std::vector<float> weight, int64_t out,
                                                      int64_t in, int n_bits, Int8Kernel kernel) {
  check_quant_bits(n_bits, ("linear " + name).c_str());
  require(out > 0 && in > 0 && static_cast<int64_t>(weight.size()) == out * in,
          "linear " + name + ": weight holds " + std::to_string(weight.size()) +
              " values, expected " + std::to_string(out) + " x " + std::to_string(in));
  require(out <= kMaxProductK && in <= kMaxProductK,
          "linear " + name + ": " + std::to_string(out) + " x " + std::to_string(in) +
              " exceeds the quantized backend's limit of " + std::to_string(kMaxProductK) +
              " per dimension");
  try {
    return std::make_unique<QuantizedBackend>(name, weight, out, in, n_bits, kernel);
  } catch (const Error& e) {
    throw Error("linear " + name + ": " + e.what());
  }
}

LinearBackendFactory quantized_backend_factory(int n_bits) {
  check_quant_bits(n_bits, "quantized backend");
  const Int8Kernel kernel = best_int8_kernel();
  return [n_bits, kernel](const std::string& name, std::vector<float> weight, int64_t out,
                          int64_t in) {
    return make_quantized_backend(name, std::move(weight), out, in, n_bits, kernel);
  };
}

}  // namespace cipherlora
