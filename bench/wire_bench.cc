// Throughput of the wire format's hot path on one core: bit packing and unpacking at the moduli
// the encrypted backend uses, then serialize/parse of a full-size request (N = 2048 coefficients ×
// 4096 columns at log_q 47, ≈ 49 MB on the wire).
//
// GB/s are given two ways: of unpacked 8-byte values (the in-memory side) and of packed bytes
// (the wire side). Serialize and parse include allocating their result, whose first-touch page
// faults often cost more than the packing itself (GLIBC_TUNABLES=glibc.malloc.hugetlb=1 lets
// glibc use transparent huge pages and shrinks that part).
//
//   build/wire_bench [--mb 64] [--reps 10]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "he/bit_packing.h"
#include "he/wire_format.h"

namespace {

using Clock = std::chrono::steady_clock;

// Best of `reps` runs, in seconds, after one warm-up run (page faults, clocks).
template <typename F>
double best_seconds(int reps, F&& f) {
  f();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bit packing and wire format throughput"};
  int mb = 64, reps = 10;
  app.add_option("--mb", mb, "MB of unpacked 8-byte values per packing run")->capture_default_str();
  app.add_option("--reps", reps)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  using namespace cipherlora;

  const size_t count = size_t(mb) << 17;  // 8-byte values in `mb` MB (2^20 / 8 per MB)
  std::mt19937_64 rng(1);
  std::printf("bit packing, %zu values (%d MB unpacked), best of %d:\n", count, mb, reps);
  std::printf("  bits   pack GB/s (values | packed)   unpack GB/s (values | packed)\n");
  for (int bits : {29, 38, 47, 64}) {
    std::vector<uint64_t> values(count), back(count);
    const uint64_t mask = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    for (auto& v : values) v = rng() & mask;
    std::vector<uint8_t> packed(packed_size(count, bits));
    const double tp = best_seconds(reps, [&] { pack_bits(values, bits, packed); });
    const double tu = best_seconds(reps, [&] { unpack_bits(packed, bits, back); });
    if (back != values) {
      std::fprintf(stderr, "round trip failed at %d bits\n", bits);
      return 1;
    }
    const double vb = 8.0 * count / 1e9, pb = packed.size() / 1e9;
    std::printf("  %4d   %8.2f | %6.2f            %8.2f | %6.2f\n", bits, vb / tp, pb / tp, vb / tu,
                pb / tu);
  }

  EncryptedRequest req;
  req.log_n = 11;
  req.log_q = 47;
  req.request_id = 1;
  req.log_q_b_out = 29;
  req.columns = 4096;
  req.body.resize(uint64_t{req.columns} << req.log_n);
  for (auto& v : req.body) v = rng() & ((uint64_t{1} << 47) - 1);
  std::vector<uint8_t> bytes;
  const double ts = best_seconds(reps, [&] { bytes = serialize(req); });
  EncryptedRequest got;
  const double tr = best_seconds(reps, [&] { got = parse_request(bytes); });
  if (!(got == req)) {
    std::fprintf(stderr, "request round trip failed\n");
    return 1;
  }
  // Fresh multi-MB blocks come from mmap and are paid for in page faults on first touch; on a
  // VM that alone can dominate, so it is timed on its own for comparison.
  const double ta_wire = best_seconds(reps, [&] {
    std::vector<uint8_t> out(bytes.size());
    if (out[out.size() / 2] != 0) std::abort();
  });
  const double ta_body = best_seconds(reps, [&] {
    std::vector<uint64_t> body(req.body.size());
    if (body[body.size() / 2] != 0) std::abort();
  });
  std::printf(
      "request N = 2048 × 4096 columns at log_q 47: %zu bytes (%.3f bytes/value)\n"
      "  serialize %.2f ms (%.2f GB/s of wire bytes), parse %.2f ms (%.2f GB/s)\n",
      bytes.size(), double(bytes.size()) / req.body.size(), ts * 1e3, bytes.size() / ts / 1e9,
      tr * 1e3, bytes.size() / tr / 1e9);
  std::printf("  of which allocating the result alone (zeroed, fresh pages): %.2f ms | %.2f ms\n",
              ta_wire * 1e3, ta_body * 1e3);
  return 0;
}
