// The byte format of the encrypted backend's two messages: a client's EncryptedRequest (RLWE
// ciphertext bodies for one frozen linear) and a worker's EncryptedResponse. Either side may be
// hostile, so parsing accepts exactly the bytes serialize() produces and rejects everything else
// with an Error naming the field: the total length is checked against the shape before anything
// is allocated, and every valid message has one encoding (parse then serialize gives the same
// bytes). Coefficients travel bit-packed at their modulus width (bit_packing.h).
//
// Layout, version 2. Integers are little-endian; offsets in bytes. Both messages start with the
// same 16 bytes, so a transport can frame either from its first 16 bytes.
//
//   common     0   4  magic "CLRQ" (request) or "CLRS" (response)
//              4   2  version = 2
//              6   2  flags, must be 0
//              8   8  total message length in bytes, header included
//   request   16   8  request_id               any value; the worker echoes it
//             24   4  linear_id
//             28   4  columns K                1..2^20
//             32   1  direction                0 forward, 1 backward
//             33   1  log_n                    10..15 (N = 2^log_n)
//             34   1  log_q                    1..64
//             35   1  log_q_b_out              1..log_q
//             36   4  reserved, must be 0
//             40      body: K·N values at log_q bits; value k·N + i is coefficient i of column k
//   response  16   8  request_id               the request's
//             24   4  columns m                1..2^20
//             28   1  log_n                    10..15
//             29   1  log_q_b                  1..64
//             30   2  reserved, must be 0
//             32      b: m·N values at log_q_b bits
//
// Version 2 carries no mask and no seed: every column of a request shares one mask that only the
// client knows (column_client.h), so the worker returns the bodies' product alone.
// N is a multiple of 8, so each packed section ends on a byte boundary and has no pad bits:
// request_size = 40 + K·N·log_q/8, response_size = 32 + m·N·log_q_b/8.
// Messages are capped at kMaxMessageBytes.
//
//   EncryptedRequest req{.request_id = 7, .linear_id = 3, .log_n = 11, .log_q = 47,
//                        .log_q_b_out = 29, .columns = 4096};
//   req.body = ...;                                  // 4096 · 2048 values < 2^47
//   std::vector<uint8_t> bytes = serialize(req);     // bytes.size() == request_size(4096, 11, 47)
//   EncryptedRequest got = parse_request(bytes);     // throws Error on any malformed input
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "common/aligned_allocator.h"

namespace cipherlora {

constexpr uint16_t kWireVersion = 2;
constexpr uint64_t kRequestHeaderBytes = 40;
constexpr uint64_t kResponseHeaderBytes = 32;
// Largest message either side accepts or produces: bounds what a forged header can make a peer
// allocate. The largest shape the field ranges allow (2^20 columns of 2^15 64-bit values) would be
// 256 GiB; real requests are tens of MB.
constexpr uint64_t kMaxMessageBytes = uint64_t{8} << 30;
constexpr uint32_t kMaxWireColumns = uint32_t{1} << 20;

enum class Direction : uint8_t { kForward = 0, kBackward = 1 };

struct EncryptedRequest {
  uint64_t request_id = 0;                    // the client's request counter, echoed back
  uint32_t linear_id = 0;                     // which frozen linear of the worker's model
  Direction direction = Direction::kForward;  // forward: X·Wᵀ (K = in, m = out); backward: dY·W
  uint8_t log_n = 0;                          // ring degree N = 2^log_n, 10..15
  uint8_t log_q = 0;                          // modulus bits of the computation, 1..64
  uint8_t log_q_b_out = 0;                    // bits the worker rounds its b output to, 1..log_q
  uint32_t columns = 0;                       // K, 1..2^20
  LargeVector<uint64_t> body;                 // [K][N] ciphertext bodies b_k, each < 2^log_q
  bool operator==(const EncryptedRequest&) const = default;
};

struct EncryptedResponse {
  uint64_t request_id = 0;  // the request's
  uint32_t columns = 0;     // m, 1..2^20
  uint8_t log_n = 0, log_q_b = 0;
  LargeVector<uint64_t> b;  // [m][N], each < 2^log_q_b
  bool operator==(const EncryptedResponse&) const = default;
};

// Throw Error if a field is out of range, a vector's size is not columns·N or a value does not
// fit its width.
std::vector<uint8_t> serialize(const EncryptedRequest& request);
std::vector<uint8_t> serialize(const EncryptedResponse& response);
// The same into `out` (resized; its capacity is reused).
void serialize(const EncryptedResponse& response, std::vector<uint8_t>& out);

// Throw Error unless `bytes` is exactly one valid message of the type.
// A request message with the header fields of `header` written and its body left zero, for a
// caller that packs the body itself column by column: column k occupies bytes
// [kRequestHeaderBytes + k·N·log_q/8, +N·log_q/8) (whole bytes: N is a multiple of 8), values
// LSB-first at log_q bits as pack_bits() writes them. header.body is ignored.
std::vector<uint8_t> request_with_header(const EncryptedRequest& header);
// The same into `out`, resized to the message size; only the header is written (the caller
// overwrites every body byte), so a reused buffer keeps its pages.
void request_with_header(const EncryptedRequest& header, std::vector<uint8_t>& out);

EncryptedRequest parse_request(std::span<const uint8_t> bytes);
// The same into `out`, reusing the capacity of out.body (a worker parses request after request
// without fresh pages each time). On Error, out is left in an unspecified but valid state.
void parse_request(std::span<const uint8_t> bytes, EncryptedRequest& out);
// A response checked like parse_response() but left packed: b is the bit-packed section ([m][N]
// values at log_q_b bits). Column j of b occupies bytes
// [j·N·log_q_b/8, (j+1)·N·log_q_b/8) — whole bytes, since N is a multiple of 8 — so a reader can
// unpack one column at a time (unpack_bits) without materialising the whole response.
struct PackedResponse {
  uint64_t request_id = 0;
  uint32_t columns = 0;
  uint8_t log_n = 0, log_q_b = 0;
  std::span<const uint8_t> b;  // a view into the message
};
PackedResponse view_response(std::span<const uint8_t> bytes);

EncryptedResponse parse_response(std::span<const uint8_t> bytes);

// Bytes a message of this shape occupies (for benchmarks' bytes-per-value figures). Throw Error
// when a parameter is out of range or the message would exceed kMaxMessageBytes.
uint64_t request_size(uint32_t columns, int log_n, int log_q);
uint64_t response_size(uint32_t columns, int log_n, int log_q_b);

}  // namespace cipherlora
