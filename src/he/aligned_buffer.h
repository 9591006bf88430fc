// Scratch memory for the client's ring products: 64-byte aligned (whole-vector loads never
// straddle cache lines), zero-initialized, and wiped before it is freed, because it holds products
// of masks and secrets. A move-only owner of n values of a trivial type.
//
//   AlignedBuffer<double> work(2 * n);   // zeros
//   fft.forward(work.data(), work.data() + n);
#pragma once

#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace cipherlora {

template <class T>
class AlignedBuffer {
  static_assert(std::is_trivial_v<T>);

 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(int64_t n)
      : data_(static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t(64)))), size_(n) {
    std::fill_n(data_, n, T{});
  }
  AlignedBuffer(AlignedBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~AlignedBuffer() { release(); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  int64_t size() const { return size_; }

 private:
  void release() {
    if (data_ == nullptr) return;
    sodium_memzero(data_, size_ * sizeof(T));  // not optimized away, unlike a plain fill
    ::operator delete[](data_, std::align_val_t(64));
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace cipherlora
