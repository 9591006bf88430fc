// Scratch buffers that grow to the largest call seen and are then reused (never shrunk), so that
// hot paths allocate only on their first, largest calls.
//
//   grow(scratch_, T * K);   // scratch_.size() >= T * K afterwards
#pragma once

#include <cstddef>
#include <vector>

namespace cipherlora {

template <class V, class A>
void grow(std::vector<V, A>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace cipherlora
