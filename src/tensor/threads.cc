#include "tensor/threads.h"

#include <omp.h>

#include <string>

#include "common/error.h"

namespace cipherlora {

void set_num_threads(int n) {
  require(n >= 1, "thread count must be at least 1, got " + std::to_string(n));
  omp_set_num_threads(n);
}

int num_threads() {
  return omp_get_max_threads();
}

}  // namespace cipherlora
