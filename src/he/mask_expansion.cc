#include "he/mask_expansion.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <exception>

#include "common/error.h"
#include "he/aes_ctr.h"
#include "tensor/threads.h"

namespace cipherlora {
namespace {

// One contiguous range on the calling thread.
void expand_range(const Seed& seed, uint64_t mask, uint64_t first, uint64_t count, uint64_t* out) {
  aes256_ctr_words(seed, first, count, out);
  for (uint64_t i = 0; i < count; ++i) out[i] &= mask;
}

}  // namespace

void expand_masks(const Seed& seed, int log_q, uint64_t first, uint64_t count, uint64_t* out) {
  require(log_q >= 1 && log_q <= 64, "mask expansion: log_q must be in 1..64");
  const uint64_t mask = log_q == 64 ? ~uint64_t{0} : (uint64_t{1} << log_q) - 1;
  constexpr uint64_t kPerThreadMin = uint64_t{1} << 15;  // 256 KiB: below it, threads cost more
  const int threads =
      omp_in_parallel()
          ? 1
          : static_cast<int>(std::min<uint64_t>(num_threads(), count / kPerThreadMin + 1));
  if (threads <= 1) return expand_range(seed, mask, first, count, out);
  // Even-sized pieces keep every piece after the first block-aligned.
  const uint64_t piece = ((count + threads - 1) / threads + 1) & ~uint64_t{1};
  std::exception_ptr failure;  // an exception must not escape the parallel region
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; ++t) {
    const uint64_t begin = std::min(count, piece * t), end = std::min(count, begin + piece);
    try {
      expand_range(seed, mask, first + begin, end - begin, out + begin);
    } catch (...) {
#pragma omp critical(mask_expansion_failure)
      failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace cipherlora
