// Internal to src/he/, not a public header: scratch buffers for the ring products, kept between
// calls so that the hot path does not allocate, and wiped when the pool goes (AlignedBuffer wipes
// on release): they hold products of masks and secrets.
//
//   ScratchPool pool(2 * n);          // doubles per lease
//   ScratchLease scratch(pool);       // any thread; returned when the lease goes
//   double* w = scratch.data();
#pragma once

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "he/aligned_buffer.h"

namespace cipherlora {

// Residue buffers for one product (e.g. [primes][N]), kept for reuse by later calls on any thread
// so that the hot path does not allocate, and wiped with the object.
class ScratchPool {
 public:
  explicit ScratchPool(int64_t words) : words_(words) {}

  AlignedBuffer<double> acquire() {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) return AlignedBuffer<double>(words_);
    AlignedBuffer<double> words = std::move(free_.back());
    free_.pop_back();
    return words;
  }

  void release(AlignedBuffer<double> words) noexcept {
    try {
      const std::lock_guard<std::mutex> lock(mutex_);
      free_.push_back(std::move(words));
    } catch (...) {  // out of memory: let the buffer go (it is wiped when freed)
    }
  }

 private:
  int64_t words_;
  std::mutex mutex_;
  std::vector<AlignedBuffer<double>> free_;
};

class ScratchLease {
 public:
  explicit ScratchLease(ScratchPool& pool) : pool_(pool), words_(pool.acquire()) {}
  ~ScratchLease() { pool_.release(std::move(words_)); }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  double* data() { return words_.data(); }

 private:
  ScratchPool& pool_;
  AlignedBuffer<double> words_;
};

}  // namespace cipherlora
