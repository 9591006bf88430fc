// A std::allocator that places storage on 64-byte (cache-line) boundaries, for matrices written
// with whole-line streaming stores (the encrypted backend's decrypted output): a row segment can
// then go out as one 64-byte store instead of four 16-byte ones.
//
//   std::vector<int64_t, AlignedAllocator<int64_t>> y(T * m);   // y.data() % 64 == 0
#pragma once

#include <cstddef>
#include <new>

namespace cipherlora {

template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};

  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}

  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, size_t n) { ::operator delete(p, n * sizeof(T), kAlignment); }

  template <class U>
  bool operator==(const AlignedAllocator<U>&) const {
    return true;
  }
};

}  // namespace cipherlora
