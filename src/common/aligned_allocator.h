// A std::allocator for large matrices and caches: storage on 64-byte (cache-line) boundaries, so
// that row segments can go out as whole-line streaming stores; and blocks of 4 MB or more on 2 MB
// boundaries with transparent huge pages requested (Linux madvise), so that a request streaming
// through hundreds of MB of secrets, products and outputs takes far fewer TLB misses. Where the
// kernel declines huge pages the memory is ordinary.
//
//   LargeVector<int32_t> y(T * m);   // y.data() % 64 == 0
//   HugePageArray<uint32_t> d(n);    // 2 MB aligned, huge pages requested at any size
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace cipherlora {

template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr size_t kHugeFrom = size_t{4} << 20;  // bytes
  static constexpr size_t kHugePage = size_t{2} << 20;

  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}

  static std::align_val_t alignment(size_t bytes) {
    return std::align_val_t{bytes >= kHugeFrom ? kHugePage : 64};
  }

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    void* p = ::operator new(bytes, alignment(bytes));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= kHugeFrom) madvise(p, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);  // a hint
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    ::operator delete(p, bytes, alignment(bytes));
  }

  template <class U>
  bool operator==(const AlignedAllocator<U>&) const {
    return true;
  }
};

template <class T>
using LargeVector = std::vector<T, AlignedAllocator<T>>;

// n uninitialized values on 2 MB boundaries with huge pages requested whatever n is (the block is
// rounded up to whole 2 MB pages): for buffers of a few MB read over and over in tiles, such as
// the worker's GEMM operand, where 4 KB pages measured up to 1.7× slower.
template <class T>
class HugePageArray {
 public:
  HugePageArray() = default;
  explicit HugePageArray(size_t n)
      : p_(static_cast<T*>(::operator new (rounded(n), std::align_val_t{kPage})),
           Free{rounded(n)}) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(p_.get(), rounded(n), MADV_HUGEPAGE);  // a hint
#endif
  }
  T* get() const {
    return p_.get();
  }

 private:
  static constexpr size_t kPage = size_t{2} << 20;
  static size_t rounded(size_t n) {
    return (n * sizeof(T) + kPage - 1) / kPage * kPage;
  }
  struct Free {
    size_t bytes = 0;
    void operator()(T* p) const { ::operator delete (p, bytes, std::align_val_t{kPage}); }
  };
  std::unique_ptr<T, Free> p_;
};

}  // namespace cipherlora
