// The instruction-set extensions the hand-written kernels dispatch on, read once from the CPU
// (cpuid, via the compiler's __builtin_cpu_supports). Each kernel checks the subset it was
// compiled for (its target attribute) and otherwise takes its portable path.
//
//   const CpuFeatures& cpu = cpu_features();
//   if (cpu.avx512f && cpu.avx512dq) fft_avx512(...); else fft_portable(...);
#pragma once

namespace cipherlora {

struct CpuFeatures {
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512dq = false;
  bool avx512vl = false;
};

inline const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#if defined(__GNUC__) && defined(__x86_64__)
    __builtin_cpu_init();
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512dq = __builtin_cpu_supports("avx512dq");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
#endif
    return f;
  }();
  return features;
}

}  // namespace cipherlora
