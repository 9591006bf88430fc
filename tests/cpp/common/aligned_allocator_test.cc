// The alignment promises of the large-buffer allocators: 64-byte lines for every LargeVector,
// 2 MB pages from 4 MB on, and 2 MB for every HugePageArray, whose whole extent is usable.
#include "common/aligned_allocator.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace cipherlora {
namespace {

uintptr_t address(const void* p) {
  return reinterpret_cast<uintptr_t>(p);
}

TEST(AlignedAllocator, LinesAlwaysAndHugePagesFromFourMegabytes) {
  for (size_t n : {1, 3, 1000, 100000}) {
    const LargeVector<int32_t> v(n);
    EXPECT_EQ(address(v.data()) % 64, 0u) << n;
  }
  const LargeVector<uint8_t> large(size_t{4} << 20);
  EXPECT_EQ(address(large.data()) % (size_t{2} << 20), 0u);
}

TEST(HugePageArray, TwoMegabyteAlignedAndWritableThroughout) {
  EXPECT_EQ(HugePageArray<uint32_t>().get(), nullptr);
  for (size_t n : {size_t{1}, size_t{1000}, (size_t{3} << 20) / 4 + 5}) {
    const HugePageArray<uint32_t> a(n);
    ASSERT_NE(a.get(), nullptr);
    EXPECT_EQ(address(a.get()) % (size_t{2} << 20), 0u) << n;
    for (size_t i = 0; i < n; ++i) a.get()[i] = static_cast<uint32_t>(i * 2654435761u);
    uint64_t mismatches = 0;
    for (size_t i = 0; i < n; ++i)
      mismatches += a.get()[i] != static_cast<uint32_t>(i * 2654435761u);
    EXPECT_EQ(mismatches, 0u) << n;
  }
}

}  // namespace
}  // namespace cipherlora
