#include "tensor/embedding.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/error.h"

namespace cipherlora {
namespace {

TEST(Embedding, GathersRows) {
  const int64_t V = 4, D = 3;
  std::vector<float> table(V * D);
  for (int64_t i = 0; i < V * D; ++i) table[i] = static_cast<float>(i);
  const std::vector<int32_t> ids = {2, 0, 3, 2};
  std::vector<float> out(ids.size() * D);
  embedding_forward(table.data(), ids.data(), out.data(), 4, D, V);
  EXPECT_EQ(out, (std::vector<float>{6, 7, 8, 0, 1, 2, 9, 10, 11, 6, 7, 8}));
}

TEST(Embedding, RejectsOutOfRangeIds) {
  std::vector<float> table(4 * 3), out(3);
  const int32_t too_big = 4, negative = -1;
  EXPECT_THROW(embedding_forward(table.data(), &too_big, out.data(), 1, 3, 4), Error);
  EXPECT_THROW(embedding_forward(table.data(), &negative, out.data(), 1, 3, 4), Error);
}

}  // namespace
}  // namespace cipherlora
