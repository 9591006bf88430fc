// Thread count of the compute kernels. Every kernel in src/tensor/ parallelizes with OpenMP over
// the machine's cores; this is the one place that sets how many threads they use.
//
//   cipherlora::set_num_threads(2);
//   int n = cipherlora::num_threads();   // 2
#pragma once

namespace cipherlora {

// Sets the number of OpenMP threads used by later kernel calls from this thread. Throws Error if
// n < 1.
void set_num_threads(int n);

// The number of threads a kernel called from here would use (omp_get_max_threads()).
int num_threads();

}  // namespace cipherlora
