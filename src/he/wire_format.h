// The byte format of the encrypted backend's two messages: a client's EncryptedRequest (RLWE
// ciphertext bodies for one frozen linear) and a worker's EncryptedResponse. Either side may be
// hostile, so parsing accepts exactly the bytes serialize() produces and rejects everything else
// with an Error naming the field: the total length is checked against the shape before anything
// is allocated, and every valid message has one encoding (parse then serialize gives the same
// bytes). Coefficients travel bit-packed at their modulus width (bit_packing.h).
//
// Layout, version 1. Integers are little-endian; offsets in bytes. Both messages start with the
// same 16 bytes, so a transport can frame either from its first 16 bytes.
//
//   common     0   4  magic "CLRQ" (request) or "CLRS" (response)
//              4   2  version = 1
//              6   2  flags, must be 0
//              8   8  total message length in bytes, header included
//   request   16   4  linear_id
//             20   4  columns K                1..2^20
//             24   1  direction                0 forward, 1 backward
//             25   1  log_n                    10..15 (N = 2^log_n)
//             26   1  log_q                    1..64
//             27   1  log_q_b_out              1..log_q
//             28   1  log_q_a_out              1..log_q
//             29   3  reserved, must be 0
//             32  32  mask_seed
//             64      body: K·N values at log_q bits; value k·N + i is coefficient i of column k
//   response  16   4  columns m                1..2^20
//             20   1  log_n                    10..15
//             21   1  log_q_b                  1..64
//             22   1  log_q_a                  1..64
//             23   1  reserved, must be 0
//             24      b: m·N values at log_q_b bits, then a: m·N values at log_q_a bits
//
// N is a multiple of 8, so each packed section ends on a byte boundary and has no pad bits:
// request_size = 64 + K·N·log_q/8, response_size = 24 + m·N·(log_q_b + log_q_a)/8.
// Messages are capped at kMaxMessageBytes.
//
//   EncryptedRequest req{.linear_id = 3, .log_n = 11, .log_q = 47, .log_q_b_out = 40,
//                        .log_q_a_out = 30, .columns = 4096};
//   req.body = ...;                                  // 4096 · 2048 values < 2^47
//   std::vector<uint8_t> bytes = serialize(req);     // bytes.size() == request_size(4096, 11, 47)
//   EncryptedRequest got = parse_request(bytes);     // throws Error on any malformed input
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "he/seed.h"

namespace cipherlora {

constexpr uint16_t kWireVersion = 1;
constexpr uint64_t kRequestHeaderBytes = 64;
constexpr uint64_t kResponseHeaderBytes = 24;
// Largest message either side accepts or produces: bounds what a forged header can make a peer
// allocate. The largest shape the field ranges allow (2^20 columns of 2^15 64-bit values) would be
// 256 GiB; real requests are tens of MB.
constexpr uint64_t kMaxMessageBytes = uint64_t{8} << 30;
constexpr uint32_t kMaxWireColumns = uint32_t{1} << 20;

enum class Direction : uint8_t { kForward = 0, kBackward = 1 };

struct EncryptedRequest {
  uint32_t linear_id = 0;                     // which frozen linear of the worker's model
  Direction direction = Direction::kForward;  // forward: X·Wᵀ (K = in, m = out); backward: dY·W
  uint8_t log_n = 0;                          // ring degree N = 2^log_n, 10..15
  uint8_t log_q = 0;                          // modulus bits of the computation, 1..64
  uint8_t log_q_b_out = 0;                    // bits the worker rounds its b output to, 1..log_q
  uint8_t log_q_a_out = 0;                    // bits the worker rounds its a output to, 1..log_q
  Seed mask_seed;                             // the masks a_k are expanded from it
  uint32_t columns = 0;                       // K, 1..2^20
  std::vector<uint64_t> body;                 // [K][N] ciphertext bodies b_k, each < 2^log_q
  bool operator==(const EncryptedRequest&) const = default;
};

struct EncryptedResponse {
  uint32_t columns = 0;  // m, 1..2^20
  uint8_t log_n = 0, log_q_b = 0, log_q_a = 0;
  std::vector<uint64_t> b;  // [m][N], each < 2^log_q_b
  std::vector<uint64_t> a;  // [m][N], each < 2^log_q_a
  bool operator==(const EncryptedResponse&) const = default;
};

// Throw Error if a field is out of range, a vector's size is not columns·N or a value does not
// fit its width.
std::vector<uint8_t> serialize(const EncryptedRequest& request);
std::vector<uint8_t> serialize(const EncryptedResponse& response);

// Throw Error unless `bytes` is exactly one valid message of the type.
// A request message with the header fields of `header` written and its body left zero, for a
// caller that packs the body itself column by column: column k occupies bytes
// [kRequestHeaderBytes + k·N·log_q/8, +N·log_q/8) (whole bytes: N is a multiple of 8), values
// LSB-first at log_q bits as pack_bits() writes them. header.body is ignored.
std::vector<uint8_t> request_with_header(const EncryptedRequest& header);

EncryptedRequest parse_request(std::span<const uint8_t> bytes);
// A response checked like parse_response() but left packed: b and a are the two bit-packed
// sections ([m][N] values at log_q_b and log_q_a bits). Column j of b occupies bytes
// [j·N·log_q_b/8, (j+1)·N·log_q_b/8) — whole bytes, since N is a multiple of 8 — so a reader can
// unpack one column at a time (unpack_bits) without materialising the whole response.
struct PackedResponse {
  uint32_t columns = 0;
  uint8_t log_n = 0, log_q_b = 0, log_q_a = 0;
  std::span<const uint8_t> b, a;  // views into the message
};
PackedResponse view_response(std::span<const uint8_t> bytes);

EncryptedResponse parse_response(std::span<const uint8_t> bytes);

// Bytes a message of this shape occupies (for benchmarks' bytes-per-value figures). Throw Error
// when a parameter is out of range or the message would exceed kMaxMessageBytes.
uint64_t request_size(uint32_t columns, int log_n, int log_q);
uint64_t response_size(uint32_t columns, int log_n, int log_q_b, int log_q_a);

}  // namespace cipherlora
