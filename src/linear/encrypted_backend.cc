#include "linear/encrypted_backend.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/aligned_allocator.h"
#include "common/error.h"
#include "common/grow.h"
#include "linear/quantized_product.h"
#include "linear/quantized_weight.h"
#include "linear/quantizer.h"

namespace cipherlora {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

uint32_t EncryptedSession::register_linear(const std::vector<int8_t>& wq, int64_t out, int64_t in) {
  const uint32_t id = worker_.add_linear(wq, out, in);
  const uint32_t client_id = client_.add_linear(wq, out, in);
  require(id == client_id, "encrypted session: client and worker disagree on linear ids");
  return id;
}

template <class X, class Y>
void EncryptedSession::product(const X* x, int64_t T, int64_t K, int64_t m, const ColumnPlan& plan,
                               uint32_t linear_id, Direction direction, Y* y) {
  auto t0 = std::chrono::steady_clock::now();
  client_.encrypt_to_bytes(x, T, K, plan, linear_id, direction, request_);
  stats_.client_seconds += seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  worker_.handle(request_, response_);
  stats_.worker_seconds += seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  client_.decrypt(view_response(response_), plan, T, m, y);
  stats_.client_seconds += seconds_since(t0);
  stats_.requests += 1;
  stats_.bytes_sent += static_cast<int64_t>(request_.size());
  stats_.bytes_received += static_cast<int64_t>(response_.size());
  stats_.values_sent += T * K;
  stats_.values_received += T * m;
}

template void EncryptedSession::product(const int32_t*, int64_t, int64_t, int64_t,
                                        const ColumnPlan&, uint32_t, Direction, int64_t*);
template void EncryptedSession::product(const int8_t*, int64_t, int64_t, int64_t, const ColumnPlan&,
                                        uint32_t, Direction, int64_t*);
template void EncryptedSession::product(const int8_t*, int64_t, int64_t, int64_t, const ColumnPlan&,
                                        uint32_t, Direction, int32_t*);

namespace {

class EncryptedBackend final : public LinearBackend {
 public:
  EncryptedBackend(std::string name, const std::vector<float>& weight, int64_t out, int64_t in,
                   int n_bits, std::shared_ptr<EncryptedSession> session)
      : name_(std::move(name)),
        n_bits_(n_bits),
        center_(int32_t{1} << (n_bits - 1)),
        w_(weight.data(), out, in),
        session_(std::move(session)) {
    id_ = session_->register_linear(w_.wq, out, in);
    forward_plan_ = plan_for_weight(w_.wq.data(), out, in, /*forward=*/true, center_);
    backward_plan_ = plan_for_weight(w_.wq.data(), out, in, /*forward=*/false, center_);
    // The session holds the int8 weight now; the backend needs only the scales and sums.
    w_.wq = {};
  }

  int64_t in_features() const override { return w_.in; }
  int64_t out_features() const override { return w_.out; }

  void forward(const float* x, int64_t T, float* y) override {
    run(x, T, w_.in, w_.out, nullptr, w_.row_sum.data(), w_.scale.data(), forward_plan_,
        Direction::kForward, y, "forward");
  }

  void backward(const float* dy, int64_t T, float* dx) override {
    // As in the quantized backend: the channel scale is folded into the gradient first.
    run(dy, T, w_.out, w_.in, w_.scale.data(), w_.col_sum.data(), nullptr, backward_plan_,
        Direction::kBackward, dx, "backward");
  }

 private:
  // a [T, K] -> y [T, m]. sum [m] = Σ_k op(W)[k, j]; out_scale [m] or nullptr (= 1).
  void run(const float* a, int64_t T, int64_t K, int64_t m, const float* col_scale,
           const int32_t* sum, const float* out_scale, const ColumnPlan& plan, Direction dir,
           float* y, const char* what) {
    if (T <= 0) return;
    grow(q_, T * K);
    // 8-bit activations travel to the client as bytes: a quarter of the memory to gather.
    const bool bytes = n_bits_ <= 8;
    if (bytes)
      grow(x8_, T * K);
    else
      grow(x_, T * K);
    // Products that fit 32 bits (8-bit activations) come back as int32: half the bytes to write.
    const bool narrow = bytes && plan.log_q - plan.log_delta <= 32;
    grow(scale_, T);
    grow(zp_, T);
    if (narrow)
      grow(acc32_, T * m);
    else
      grow(acc_, T * m);
    try {
      quantize_per_token(a, T, K, n_bits_, q_.data(), scale_.data(), zp_.data(), col_scale);
      if (bytes)
        for (int64_t i = 0; i < T * K; ++i) x8_[i] = static_cast<int8_t>(q_[i] - center_);
      else
        for (int64_t i = 0; i < T * K; ++i) x_[i] = static_cast<int32_t>(q_[i]) - center_;
      // Requests of up to N tokens each.
      const auto products = [&](const auto* xs, auto* ys) {
        for (int64_t t0 = 0; t0 < T; t0 += plan.n())
          session_->product(xs + t0 * K, std::min(plan.n(), T - t0), K, m, plan, id_, dir,
                            ys + t0 * m);
      };
      if (narrow)
        products(x8_.data(), acc32_.data());
      else if (bytes)
        products(x8_.data(), acc_.data());
      else
        products(x_.data(), acc_.data());
    } catch (const Error& e) {
      throw Error("linear " + name_ + " " + what + ": " + e.what());
    }
    // Σ_k (q − c)·W + (c − zp)·Σ_k W = Σ_k (q − zp)·W, the quantized backend's integer.
    grow(shift_, T);
    for (int64_t t = 0; t < T; ++t) shift_[t] = center_ - zp_[t];
    if (narrow)
      dequantize_rows_shifted(acc32_.data(), T, m, shift_.data(), sum, scale_.data(), out_scale, y);
    else
      dequantize_rows_shifted(acc_.data(), T, m, shift_.data(), sum, scale_.data(), out_scale, y);
  }

  std::string name_;
  int n_bits_;
  int32_t center_;  // 2^(n_bits − 1)
  QuantizedWeight w_;
  std::shared_ptr<EncryptedSession> session_;
  uint32_t id_ = 0;
  ColumnPlan forward_plan_, backward_plan_;
  // Scratch reused across calls.
  std::vector<uint16_t> q_;     // [T, K]
  std::vector<int32_t> x_;      // [T, K] centred, for more than 8 bits
  LargeVector<int8_t> x8_;      // [T, K] centred, for 8 bits or fewer
  std::vector<float> scale_;    // [T]
  std::vector<int32_t> zp_;     // [T]
  std::vector<int32_t> shift_;  // [T] centre − zero point
  // [T, m] products, written with whole-line streaming stores: int32 when they fit.
  LargeVector<int64_t> acc_;
  LargeVector<int32_t> acc32_;
};

}  // namespace

std::unique_ptr<LinearBackend> make_encrypted_backend(const std::string& name,
                                                      std::vector<float> weight, int64_t out,
                                                      int64_t in, int n_bits,
                                                      std::shared_ptr<EncryptedSession> session) {
  check_quant_bits(n_bits, ("linear " + name).c_str());
  require(session != nullptr, "linear " + name + ": no encrypted session");
  require(out > 0 && in > 0 && static_cast<int64_t>(weight.size()) == out * in,
          "linear " + name + ": weight holds " + std::to_string(weight.size()) +
              " values, expected " + std::to_string(out) + " x " + std::to_string(in));
  try {
    return std::make_unique<EncryptedBackend>(name, weight, out, in, n_bits, std::move(session));
  } catch (const Error& e) {
    throw Error("linear " + name + ": " + e.what());
  }
}

LinearBackendFactory encrypted_backend_factory(int n_bits,
                                               std::shared_ptr<EncryptedSession> session) {
  check_quant_bits(n_bits, "encrypted backend");
  require(session != nullptr, "encrypted backend: no session");
  return [n_bits, session](const std::string& name, std::vector<float> weight, int64_t out,
                           int64_t in) {
    return make_encrypted_backend(name, std::move(weight), out, in, n_bits, session);
  };
}

}  // namespace cipherlora
