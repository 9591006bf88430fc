#include "he/wire_format.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/error.h"
#include "he/bit_packing.h"

namespace cipherlora {
namespace {

constexpr char kRequestMagic[4] = {'C', 'L', 'R', 'Q'};
constexpr char kResponseMagic[4] = {'C', 'L', 'R', 'S'};

// Header fields are written byte by byte so the format does not depend on the host's byte order.
void put_le(uint8_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

std::string str(uint64_t v) {
  return std::to_string(v);
}

// Signed, so that a negative width passed to request_size() prints as itself.
void check_range(const char* what, const char* field, int64_t v, int64_t lo, int64_t hi) {
  require(v >= lo && v <= hi, std::string(what) + ": " + field + " " + std::to_string(v) +
                                  " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
}

// A rounding width must lie in 1..log_q; the common mistake (above log_q) gets its own wording.
void check_out_width(const char* field, int v, int log_q) {
  require(v <= log_q,
          std::string("request: ") + field + " " + str(v) + " exceeds log_q " + str(log_q));
  check_range("request", field, v, 1, log_q);
}

// Bytes of `count` values at `bits` each, refusing anything over the message cap.
uint64_t section_bytes(const char* what, const char* field, uint64_t count, int bits) {
  const uint64_t bytes = packed_size(count, bits);
  require(bytes <= kMaxMessageBytes, std::string(what) + ": " + field + " of " + str(count) +
                                         " values at " + str(bits) + " bits needs " + str(bytes) +
                                         " bytes, over the " + str(kMaxMessageBytes) +
                                         "-byte message cap");
  return bytes;
}

uint64_t checked_total(const char* what, uint64_t header, uint64_t section) {
  // Both parts are <= kMaxMessageBytes, so the sum cannot overflow before the comparison.
  const uint64_t total = header + section;
  require(total <= kMaxMessageBytes, std::string(what) + ": message would take " + str(total) +
                                         " bytes, over the " + str(kMaxMessageBytes) +
                                         "-byte message cap");
  return total;
}

uint64_t values_per_section(const char* what, uint32_t columns, int log_n) {
  check_range(what, "columns", columns, 1, kMaxWireColumns);
  check_range(what, "log_n", log_n, 10, 15);
  return uint64_t{columns} << log_n;  // <= 2^35
}

// Direction, log_q and the rounding width; request_size() checks columns and log_n.
void check_request_fields(const EncryptedRequest& r) {
  check_range("request", "direction", static_cast<uint8_t>(r.direction), 0, 1);
  check_range("request", "log_q", r.log_q, 1, 64);
  check_out_width("log_q_b_out", r.log_q_b_out, r.log_q);
}

void check_count(const char* what, const char* field, uint64_t have, uint64_t want) {
  require(have == want, std::string(what) + ": " + field + " holds " + str(have) +
                            " values, columns·N = " + str(want));
}

// Packs one section, rewording pack_bits' error to name the message field.
void pack_section(const char* what, const char* field, std::span<const uint64_t> values, int bits,
                  std::span<uint8_t> out) {
  try {
    pack_bits(values, bits, out);
  } catch (const Error&) {
    for (uint64_t i = 0; i < values.size(); ++i)
      require(bits == 64 || values[i] >> bits == 0, std::string(what) + ": " + field + " value " +
                                                        str(values[i]) + " at index " + str(i) +
                                                        " does not fit in " + str(bits) + " bits");
    throw;
  }
}

void write_common(uint8_t* p, const char (&magic)[4], uint64_t total) {
  std::memcpy(p, magic, 4);
  put_le(p + 4, kWireVersion, 2);
  put_le(p + 6, 0, 2);
  put_le(p + 8, total, 8);
}

// Checks the 16 common bytes against the message's actual size. Nothing is read past the header
// before the header's length and the shape's computed length agree with bytes.size().
void check_common(const char* what, std::span<const uint8_t> bytes, const char (&magic)[4],
                  uint64_t header_bytes) {
  require(bytes.size() >= header_bytes, std::string(what) + ": " + str(bytes.size()) +
                                            " bytes, shorter than the " + str(header_bytes) +
                                            "-byte header");
  if (std::memcmp(bytes.data(), magic, 4) != 0) {
    char got[16];
    std::snprintf(got, sizeof got, "%02x %02x %02x %02x", bytes[0], bytes[1], bytes[2], bytes[3]);
    throw Error(std::string(what) + ": bad magic " + got + ", expected \"" + std::string(magic, 4) +
                "\"");
  }
  const uint64_t version = get_le(bytes.data() + 4, 2), flags = get_le(bytes.data() + 6, 2);
  require(version == kWireVersion, std::string(what) + ": version " + str(version) +
                                       " is not supported (expected " + str(kWireVersion) + ")");
  require(flags == 0, std::string(what) + ": flags " + str(flags) + " are not zero");
  const uint64_t length = get_le(bytes.data() + 8, 8);
  require(length <= kMaxMessageBytes, std::string(what) + ": length " + str(length) +
                                          " exceeds the " + str(kMaxMessageBytes) +
                                          "-byte message cap");
  require(length == bytes.size(),
          std::string(what) + ": header says " + str(length) + " bytes, message has " +
              str(bytes.size()) + (length > bytes.size() ? " (truncated)" : " (trailing bytes)"));
}

void check_reserved(const char* what, std::span<const uint8_t> reserved) {
  for (uint8_t b : reserved)
    require(b == 0, std::string(what) + ": reserved header bytes are not zero");
}

}  // namespace

uint64_t request_size(uint32_t columns, int log_n, int log_q) {
  const uint64_t count = values_per_section("request", columns, log_n);
  check_range("request", "log_q", log_q, 1, 64);
  return checked_total("request", kRequestHeaderBytes,
                       section_bytes("request", "body", count, log_q));
}

uint64_t response_size(uint32_t columns, int log_n, int log_q_b) {
  const uint64_t count = values_per_section("response", columns, log_n);
  check_range("response", "log_q_b", log_q_b, 1, 64);
  return checked_total("response", kResponseHeaderBytes,
                       section_bytes("response", "b", count, log_q_b));
}

std::vector<uint8_t> request_with_header(const EncryptedRequest& r) {
  std::vector<uint8_t> out;
  request_with_header(r, out);
  std::fill(out.begin() + kRequestHeaderBytes, out.end(), uint8_t{0});
  return out;
}

void request_with_header(const EncryptedRequest& r, std::vector<uint8_t>& out) {
  check_request_fields(r);
  const uint64_t total = request_size(r.columns, r.log_n, r.log_q);
  out.resize(total);
  uint8_t* p = out.data();
  std::memset(p, 0, kRequestHeaderBytes);
  write_common(p, kRequestMagic, total);
  put_le(p + 16, r.request_id, 8);
  put_le(p + 24, r.linear_id, 4);
  put_le(p + 28, r.columns, 4);
  p[32] = static_cast<uint8_t>(r.direction);
  p[33] = r.log_n;
  p[34] = r.log_q;
  p[35] = r.log_q_b_out;
  // Bytes 36..39 are reserved and stay zero.
}

std::vector<uint8_t> serialize(const EncryptedRequest& r) {
  std::vector<uint8_t> out = request_with_header(r);  // checks the fields (log_n first)
  check_count("request", "body", r.body.size(), uint64_t{r.columns} << r.log_n);
  pack_section("request", "body", r.body, r.log_q, std::span(out).subspan(kRequestHeaderBytes));
  return out;
}

std::vector<uint8_t> serialize(const EncryptedResponse& r) {
  std::vector<uint8_t> out;
  serialize(r, out);
  return out;
}

void serialize(const EncryptedResponse& r, std::vector<uint8_t>& out) {
  const uint64_t total = response_size(r.columns, r.log_n, r.log_q_b);
  check_count("response", "b", r.b.size(), uint64_t{r.columns} << r.log_n);
  out.resize(total);
  uint8_t* p = out.data();
  std::memset(p, 0, kResponseHeaderBytes);  // reserved bytes stay zero in a reused buffer
  write_common(p, kResponseMagic, total);
  put_le(p + 16, r.request_id, 8);
  put_le(p + 24, r.columns, 4);
  p[28] = r.log_n;
  p[29] = r.log_q_b;
  // Bytes 30..31 are reserved and stay zero.
  pack_section("response", "b", r.b, r.log_q_b, std::span(out).subspan(kResponseHeaderBytes));
}

EncryptedRequest parse_request(std::span<const uint8_t> bytes) {
  EncryptedRequest r;
  parse_request(bytes, r);
  return r;
}

void parse_request(std::span<const uint8_t> bytes, EncryptedRequest& r) {
  check_common("request", bytes, kRequestMagic, kRequestHeaderBytes);
  const uint8_t* p = bytes.data();
  check_reserved("request", bytes.subspan(36, 4));
  r.request_id = get_le(p + 16, 8);
  r.linear_id = static_cast<uint32_t>(get_le(p + 24, 4));
  r.columns = static_cast<uint32_t>(get_le(p + 28, 4));
  r.direction = static_cast<Direction>(p[32]);
  r.log_n = p[33];
  r.log_q = p[34];
  r.log_q_b_out = p[35];
  check_request_fields(r);
  const uint64_t total = request_size(r.columns, r.log_n, r.log_q);
  require(total == bytes.size(), "request: " + str(r.columns) +
                                     " columns of N = " + str(uint64_t{1} << r.log_n) + " at " +
                                     str(r.log_q) + " bits take " + str(total) +
                                     " bytes, message has " + str(bytes.size()));
  // Only now, with the size matching real bytes, is the body allocated.
  r.body.resize(uint64_t{r.columns} << r.log_n);
  unpack_bits(bytes.subspan(kRequestHeaderBytes), r.log_q, r.body);
}

PackedResponse view_response(std::span<const uint8_t> bytes) {
  check_common("response", bytes, kResponseMagic, kResponseHeaderBytes);
  const uint8_t* p = bytes.data();
  check_reserved("response", bytes.subspan(30, 2));
  PackedResponse r;
  r.request_id = get_le(p + 16, 8);
  r.columns = static_cast<uint32_t>(get_le(p + 24, 4));
  r.log_n = p[28];
  r.log_q_b = p[29];
  const uint64_t total = response_size(r.columns, r.log_n, r.log_q_b);
  require(total == bytes.size(), "response: " + str(r.columns) +
                                     " columns of N = " + str(uint64_t{1} << r.log_n) + " at " +
                                     str(r.log_q_b) + " bits take " + str(total) +
                                     " bytes, message has " + str(bytes.size()));
  r.b = bytes.subspan(kResponseHeaderBytes);
  return r;
}

EncryptedResponse parse_response(std::span<const uint8_t> bytes) {
  const PackedResponse v = view_response(bytes);
  EncryptedResponse r;
  r.request_id = v.request_id;
  r.columns = v.columns;
  r.log_n = v.log_n;
  r.log_q_b = v.log_q_b;
  r.b.resize(uint64_t{r.columns} << r.log_n);
  unpack_bits(v.b, r.log_q_b, r.b);
  return r;
}

}  // namespace cipherlora
