#include "linear/encrypted_backend.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "common/error.h"
#include "linear/quantized_backend.h"

namespace cipherlora {
namespace {

std::vector<float> random_floats(size_t n, std::mt19937& rng, float scale) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The encrypted backend decrypts exactly the quantized backend's integers, so its outputs must
// have the very same bits — forward and backward, across request chunking (T > N) and bit widths.
TEST(EncryptedBackend, BitIdenticalToQuantized) {
  std::mt19937 rng(5);
  struct Shape {
    int64_t out, in, T;
    int n_bits;
  };
  for (const Shape s : {Shape{24, 40, 3, 8}, Shape{96, 64, 2048 + 37, 8}, Shape{40, 24, 50, 12},
                        Shape{7, 5, 1, 4}}) {
    const std::vector<float> w = random_floats(s.out * s.in, rng, 0.05f);
    auto session = std::make_shared<EncryptedSession>();
    auto enc = make_encrypted_backend("t", w, s.out, s.in, s.n_bits, session);
    auto quant = make_quantized_backend("t", w, s.out, s.in, s.n_bits);
    const std::vector<float> x = random_floats(s.T * s.in, rng, 1.0f);
    const std::vector<float> dy = random_floats(s.T * s.out, rng, 0.01f);
    std::vector<float> y_enc(s.T * s.out), y_q(s.T * s.out), dx_enc(s.T * s.in), dx_q(s.T * s.in);
    enc->forward(x.data(), s.T, y_enc.data());
    quant->forward(x.data(), s.T, y_q.data());
    enc->backward(dy.data(), s.T, dx_enc.data());
    quant->backward(dy.data(), s.T, dx_q.data());
    EXPECT_TRUE(same_bits(y_enc, y_q)) << s.out << "x" << s.in << " T=" << s.T;
    EXPECT_TRUE(same_bits(dx_enc, dx_q)) << s.out << "x" << s.in << " T=" << s.T;
    const EncryptedStats& st = session->stats();
    const int64_t per_call = (s.T + 2047) / 2048;  // narrow set for 8 bits: N = 2048
    EXPECT_EQ(st.requests, 2 * per_call);          // every shape here plans N = 2048
    EXPECT_EQ(st.values_sent, s.T * s.in + s.T * s.out);
    EXPECT_GT(st.bytes_sent, 0);
  }
}

TEST(EncryptedBackend, RejectsBadConstruction) {
  auto session = std::make_shared<EncryptedSession>();
  EXPECT_THROW(make_encrypted_backend("t", std::vector<float>(6), 2, 3, 1, session), Error);
  EXPECT_THROW(make_encrypted_backend("t", std::vector<float>(5), 2, 3, 8, session), Error);
  EXPECT_THROW(make_encrypted_backend("t", std::vector<float>(6), 2, 3, 8, nullptr), Error);
}

}  // namespace
}  // namespace cipherlora
