// Packs unsigned integers into a dense bit stream at exactly `bits` bits each, the wire encoding of
// ciphertext coefficients: a coefficient mod 2^47 travels as 47 bits, not 64, and bytes per value
// are a benchmarked product figure. Tens of MB pass through here per request, so the common path
// moves 8 values (= `bits` bytes) at a time: on AVX-512 as one vector with per-lane permutes and
// shifts (widths 16..63), elsewhere with the shifts fixed at compile time per width.
//
// Layout: an LSB-first little-endian bit stream. Value i occupies bits [i·bits, (i+1)·bits), bit j
// of the stream is bit (j mod 8) of byte j/8, and the unused high bits of the last byte are zero.
// Unpacking insists on those zero pad bits so that every valid byte string has exactly one
// decoding (a parsed message re-serializes to the same bytes).
//
//   std::vector<uint8_t> out(packed_size(values.size(), 47));
//   pack_bits(values, 47, out);       // throws Error if a value is >= 2^47
//   unpack_bits(out, 47, values);     // throws Error on a size mismatch or a set pad bit
#pragma once

#include <cstdint>
#include <span>

namespace cipherlora {

// kBest: AVX-512 where the CPU has it and the width suits; kPortable: the plain word path (tests).
enum class PackKernel { kBest, kPortable };

// Bytes that `count` values of `bits` bits occupy: ceil(count·bits / 8). Throws Error when bits is
// outside 1..64 or the size does not fit in uint64_t.
uint64_t packed_size(uint64_t count, int bits);

// Writes all of `out`, which must hold exactly packed_size(values.size(), bits) bytes. Throws
// Error on a bad width, a size mismatch or a value >= 2^bits (out's contents are then unspecified).
void pack_bits(std::span<const uint64_t> values, int bits, std::span<uint8_t> out,
               PackKernel kernel = PackKernel::kBest);

// Fills all of `values` from `in`, which must hold exactly packed_size(values.size(), bits) bytes.
// Throws Error on a bad width, a size mismatch or a nonzero pad bit (values are then unspecified).
void unpack_bits(std::span<const uint8_t> in, int bits, std::span<uint64_t> values,
                 PackKernel kernel = PackKernel::kBest);

// The first values.size() values of a stream that may go on past them (a prefix of a packed
// column): in must hold at least packed_size(values.size(), bits) bytes; the bits after the last
// value are not looked at. Throws Error on a bad width or too few bytes.
void unpack_leading_bits(std::span<const uint8_t> in, int bits, std::span<uint64_t> values,
                         PackKernel kernel = PackKernel::kBest);

// The mask of the low `bits` bits, 0 <= bits <= 64.
constexpr uint64_t low_mask(int bits) {
  return bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

}  // namespace cipherlora
