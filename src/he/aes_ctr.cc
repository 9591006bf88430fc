#include "he/aes_ctr.h"

#include <openssl/evp.h>

#include <bit>
#include <cstring>
#include <limits>
#include <memory>

#include "common/error.h"

namespace cipherlora {

void aes256_ctr_keystream_from(const Seed& key, const uint8_t (&counter)[16], uint8_t* out,
                               uint64_t len) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      &EVP_CIPHER_CTX_free);
  require(ctx != nullptr && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ctr(), nullptr,
                                               key.bytes.data(), counter) == 1,
          "AES-256-CTR: OpenSSL failed to initialise");
  // Counter mode encrypts by XOR with the keystream, so encrypting zeros yields the keystream.
  std::memset(out, 0, len);
  constexpr uint64_t kChunk = uint64_t{1} << 30;  // EVP takes int lengths
  while (len > 0) {
    const int n = static_cast<int>(len < kChunk ? len : kChunk);
    int written = 0;
    require(EVP_EncryptUpdate(ctx.get(), out, &written, out, n) == 1 && written == n,
            "AES-256-CTR: OpenSSL failed to encrypt");
    out += n;
    len -= static_cast<uint64_t>(n);
  }
}

void aes256_ctr_keystream(const Seed& key, uint64_t first_block, uint8_t* out, uint64_t len) {
  uint8_t counter[16] = {};
  for (int i = 0; i < 8; ++i) counter[15 - i] = static_cast<uint8_t>(first_block >> (8 * i));
  aes256_ctr_keystream_from(key, counter, out, len);
}

void aes256_ctr_words(const Seed& key, uint64_t first, uint64_t count, uint64_t* out) {
  static_assert(std::endian::native == std::endian::little, "keystream words are little-endian");
  if (count == 0) return;
  // Two words per 16-byte block: an odd `first` starts half-way into its block.
  if (first % 2 == 1) {
    uint64_t head[2];
    aes256_ctr_keystream(key, first / 2, reinterpret_cast<uint8_t*>(head), 16);
    *out++ = head[1];
    ++first;
    --count;
  }
  aes256_ctr_keystream(key, first / 2, reinterpret_cast<uint8_t*>(out), 8 * count);
}

}  // namespace cipherlora
