#include "he/bit_packing.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "common/error.h"
#include "he/bit_packing_avx512.h"

namespace cipherlora {
namespace {

// Whole 64-bit words move through memcpy, which is only the stream's byte order on a
// little-endian host (every x86-64 is).
static_assert(std::endian::native == std::endian::little, "bit_packing assumes little-endian");

inline uint64_t load_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline void store_u64(uint8_t* p, uint64_t v) {
  std::memcpy(p, &v, 8);
}

void check_width(int bits, const char* who) {
  require(bits >= 1 && bits <= 64,
          std::string(who) + ": bit width " + std::to_string(bits) + " is outside 1..64");
}

void check_size(uint64_t have, uint64_t count, int bits, const char* who) {
  const uint64_t want = packed_size(count, bits);
  require(have == want, std::string(who) + ": " + std::to_string(count) + " values of " +
                            std::to_string(bits) + " bits take " + std::to_string(want) +
                            " bytes, got " + std::to_string(have));
}

// Eight values of B bits fill exactly B bytes, so groups of 8 start on byte boundaries and every
// shift, offset and branch below is a compile-time constant per (B, J): the group compiles to
// straight-line loads, shifts and stores. Value J starts at stream bit J·B.

// Appends value J of a group to the 64-bit accumulator `acc`, which holds the group's bits from
// the last full word on; once acc fills up it is stored and restarted with v's leftover bits.
template <int B, int J>
inline void pack_value(const uint64_t* v, uint64_t& acc, uint8_t* out) {
  constexpr int filled = J * B % 64;  // bits already in acc
  acc |= v[J] << filled;
  if constexpr (filled + B >= 64) {
    store_u64(out + J * B / 64 * 8, acc);
    if constexpr (filled == 0) {
      acc = 0;  // B == 64: v[J] went whole
    } else {
      acc = v[J] >> (64 - filled);
    }
  }
}

// Packs `groups` groups of 8 values into groups·B bytes. Returns the OR of all values so the
// caller can range-check them in one test instead of one per value.
template <int B>
uint64_t pack_groups(const uint64_t* v, uint64_t groups, uint8_t* out) {
  uint64_t ored = 0;
  for (uint64_t g = 0; g < groups; ++g, v += 8, out += B) {
    uint64_t acc = 0;
    [&]<size_t... J>(std::index_sequence<J...>) {
      ((ored |= v[J]), ...);
      (pack_value<B, J>(v, acc, out), ...);
    }
    (std::make_index_sequence<8>{});
    // 8·B bits = B bytes; the last B mod 8 of them are still in acc.
    if constexpr (B % 8 != 0) std::memcpy(out + B / 8 * 8, &acc, B % 8);
  }
  return ored;
}

// Reads value J of a group with one unaligned 8-byte load (plus one byte when the value straddles
// nine bytes, which only happens for B >= 58). Reads up to byte B + 7 of the group.
template <int B, int J>
inline uint64_t unpack_value(const uint8_t* p) {
  constexpr int bit = J * B, byte = bit / 8, shift = bit % 8;
  uint64_t w = load_u64(p + byte) >> shift;
  if constexpr (shift + B > 64) w |= uint64_t{p[byte + 8]} << (64 - shift);
  return w & low_mask(B);
}

template <int B>
void unpack_groups(const uint8_t* in, uint64_t groups, uint64_t* v) {
  for (uint64_t g = 0; g < groups; ++g, in += B, v += 8)
    [&]<size_t... J>(std::index_sequence<J...>) {
      ((v[J] = unpack_value<B, J>(in)), ...);
    }
  (std::make_index_sequence<8>{});
}

using PackFn = uint64_t (*)(const uint64_t*, uint64_t, uint8_t*);
using UnpackFn = void (*)(const uint8_t*, uint64_t, uint64_t*);

template <size_t... I>
constexpr std::array<PackFn, 64> pack_table(std::index_sequence<I...>) {
  return {&pack_groups<I + 1>...};
}
template <size_t... I>
constexpr std::array<UnpackFn, 64> unpack_table(std::index_sequence<I...>) {
  return {&unpack_groups<I + 1>...};
}
constexpr auto kPack = pack_table(std::make_index_sequence<64>{});
constexpr auto kUnpack = unpack_table(std::make_index_sequence<64>{});

// AVX-512 groups, for widths 16..63 (bit_packing_avx512.h).
template <int C>
CIPHERLORA_PACKING_AVX512 uint64_t pack_avx512(const uint64_t* v, uint64_t groups, int B,
                                               uint8_t* out) {
  const GroupPacker<C> packer(B);
  const __mmask64 bytes = group_bytes(B);
  __m512i ored = _mm512_setzero_si512();
  for (uint64_t g = 0; g < groups; ++g, v += 8, out += B) {
    const __m512i w = _mm512_loadu_si512(v);
    ored = _mm512_or_si512(ored, w);
    _mm512_mask_storeu_epi8(out, bytes, packer.pack(w));
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, ored);
  return lanes[0] | lanes[1] | lanes[2] | lanes[3] | lanes[4] | lanes[5] | lanes[6] | lanes[7];
}

CIPHERLORA_PACKING_AVX512 void unpack_avx512(const uint8_t* in, uint64_t groups, int B,
                                             uint64_t* v) {
  const GroupUnpacker unpacker(B);
  const __mmask64 bytes = group_bytes(B);
  for (uint64_t g = 0; g < groups; ++g, in += B, v += 8)
    _mm512_storeu_si512(v, unpacker.unpack(_mm512_maskz_loadu_epi8(bytes, in)));
}

uint64_t pack_groups_best(const uint64_t* v, uint64_t groups, int bits, uint8_t* out,
                          PackKernel kernel) {
  if (kernel == PackKernel::kPortable || bits < kMinVectorBits || bits > kMaxVectorBits ||
      !packing_avx512_available())
    return kPack[bits - 1](v, groups, out);
  return with_candidates(bits, [&]<int C>() { return pack_avx512<C>(v, groups, bits, out); });
}

// Byte-at-a-time versions for the last few values, where whole-word access could run off the
// buffer. `out` must be zero where the value goes.
void write_value(uint8_t* out, uint64_t bit, int bits, uint64_t v) {
  uint64_t byte = bit / 8;
  int shift = bit % 8;
  for (int done = 0; done < bits; done += 8 - shift, shift = 0, ++byte)
    out[byte] |= static_cast<uint8_t>((v >> done) << shift);
}

uint64_t read_value(const uint8_t* in, uint64_t bit, int bits) {
  uint64_t byte = bit / 8, v = 0;
  int shift = bit % 8;
  for (int got = 0; got < bits; got += 8 - shift, shift = 0, ++byte)
    v |= uint64_t{static_cast<uint8_t>(in[byte] >> shift)} << got;
  return v & low_mask(bits);
}

}  // namespace

uint64_t packed_size(uint64_t count, int bits) {
  check_width(bits, "packed_size");
  // Split so that no intermediate overflows: full groups take `bits` bytes each.
  const uint64_t groups = count / 8, rest = count % 8;
  require(groups <= (std::numeric_limits<uint64_t>::max() - 64) / bits,
          "packed_size: " + std::to_string(count) + " values of " + std::to_string(bits) +
              " bits overflow 64-bit sizes");
  return groups * bits + (rest * bits + 7) / 8;
}

void pack_bits(std::span<const uint64_t> values, int bits, std::span<uint8_t> out,
               PackKernel kernel) {
  check_width(bits, "pack_bits");
  check_size(out.size(), values.size(), bits, "pack_bits");
  if (values.empty()) return;  // out.data() may be null, which memset must not see
  const uint64_t groups = values.size() / 8, head = groups * 8;
  uint64_t ored = pack_groups_best(values.data(), groups, bits, out.data(), kernel);
  std::memset(out.data() + groups * bits, 0, out.size() - groups * bits);
  for (uint64_t i = head; i < values.size(); ++i) {
    ored |= values[i];
    write_value(out.data() + groups * bits, (i - head) * bits, bits, values[i] & low_mask(bits));
  }
  if ((ored & ~low_mask(bits)) == 0) return;
  for (uint64_t i = 0; i < values.size(); ++i)
    require(values[i] <= low_mask(bits), "pack_bits: value " + std::to_string(values[i]) +
                                             " at index " + std::to_string(i) +
                                             " does not fit in " + std::to_string(bits) + " bits");
}

void unpack_leading_bits(std::span<const uint8_t> in, int bits, std::span<uint64_t> values,
                         PackKernel kernel) {
  check_width(bits, "unpack_leading_bits");
  require(in.size() >= packed_size(values.size(), bits),
          "unpack_leading_bits: " + std::to_string(values.size()) + " values of " +
              std::to_string(bits) + " bits need " +
              std::to_string(packed_size(values.size(), bits)) + " bytes, got " +
              std::to_string(in.size()));
  uint64_t groups = 0;
  if (kernel == PackKernel::kBest && bits >= kMinVectorBits && bits <= kMaxVectorBits &&
      packing_avx512_available()) {
    groups = values.size() / 8;
    unpack_avx512(in.data(), groups, bits, values.data());
  } else {
    // Portable groups must leave 8 bytes of slack after their own B bytes for the word loads.
    groups = in.size() < 8 ? 0 : std::min<uint64_t>(values.size() / 8, (in.size() - 8) / bits);
    kUnpack[bits - 1](in.data(), groups, values.data());
  }
  for (uint64_t i = groups * 8; i < values.size(); ++i)
    values[i] = read_value(in.data() + groups * bits, (i - groups * 8) * bits, bits);
}

void unpack_bits(std::span<const uint8_t> in, int bits, std::span<uint64_t> values,
                 PackKernel kernel) {
  check_width(bits, "unpack_bits");
  check_size(in.size(), values.size(), bits, "unpack_bits");
  unpack_leading_bits(in, bits, values, kernel);
  // Full groups end on byte boundaries, so only the last partial group can leave pad bits.
  const int used = values.size() % 8 * bits % 8;  // bits of the last byte in use
  if (used != 0)
    require((in.back() >> used) == 0, "unpack_bits: pad bits of the last byte are not zero (byte " +
                                          std::to_string(in.back()) + ", " + std::to_string(used) +
                                          " bits in use)");
}

}  // namespace cipherlora
