#include "he/aes_ctr.h"

#include <openssl/evp.h>
#include <sodium.h>
#ifdef CIPHERLORA_HAVE_IPSEC_MB
#include <intel-ipsec-mb.h>
#endif

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <memory>

#include "common/error.h"

namespace cipherlora {
namespace {

#ifdef CIPHERLORA_HAVE_IPSEC_MB
// Intel's multi-buffer library runs AES-CTR on VAES where the CPU has it (16 GB/s per core here,
// 2.3x OpenSSL 3.0, which does not use VAES for CTR) and on AES-NI elsewhere. A manager is not
// thread-safe: each thread keeps its own.
IMB_MGR* thread_manager() {
  thread_local const std::unique_ptr<IMB_MGR, decltype(&free_mb_mgr)> mgr = [] {
    std::unique_ptr<IMB_MGR, decltype(&free_mb_mgr)> m(alloc_mb_mgr(0), &free_mb_mgr);
    require(m != nullptr, "AES-256-CTR: intel-ipsec-mb could not allocate a manager");
    init_mb_mgr_auto(m.get(), nullptr);
    require(imb_get_errno(m.get()) == 0, "AES-256-CTR: intel-ipsec-mb failed to initialise");
    return m;
  }();
  return mgr.get();
}

// The library increments only the counter block's low 32 bits, so the stream is cut where they
// wrap and the carry is added here: the same stream as SP 800-38A's 128-bit counter.
void keystream_ipsec_mb(const Seed& key, const uint8_t (&counter)[16], uint8_t* out, uint64_t len) {
  IMB_MGR* mgr = thread_manager();
  alignas(16) uint32_t enc_keys[60], dec_keys[60];  // 15 round keys each
  IMB_AES_KEYEXP_256(mgr, key.bytes.data(), enc_keys, dec_keys);
  uint8_t block[16];
  std::memcpy(block, counter, 16);
  // CTR XORs the keystream into its input: encrypting zeros (read from a shared block, instead of
  // first zeroing `out`) gives the keystream.
  static constexpr uint64_t kZeroBytes = 64 << 10;
  alignas(64) static const uint8_t zeros[kZeroBytes] = {};
  while (len > 0) {
    const uint64_t low = uint64_t{block[12]} << 24 | uint64_t{block[13]} << 16 |
                         uint64_t{block[14]} << 8 | block[15];
    const uint64_t n = std::min({len, ((uint64_t{1} << 32) - low) * 16, kZeroBytes});
    IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
    job->cipher_direction = IMB_DIR_ENCRYPT;
    job->chain_order = IMB_ORDER_CIPHER_HASH;
    job->cipher_mode = IMB_CIPHER_CNTR;
    job->hash_alg = IMB_AUTH_NULL;
    job->enc_keys = enc_keys;
    job->dec_keys = dec_keys;
    job->key_len_in_bytes = 32;
    job->src = zeros;
    job->dst = out;
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = n;
    job->iv = block;
    job->iv_len_in_bytes = 16;
    job = IMB_SUBMIT_JOB(mgr);
    if (job == nullptr) job = IMB_FLUSH_JOB(mgr);
    if (job == nullptr || job->status != IMB_STATUS_COMPLETED) break;  // reported below
    out += n;
    len -= n;
    // The next counter block: + n/16 (whole blocks unless this was the last piece).
    uint64_t carry = n / 16;
    for (int i = 15; i >= 0 && carry != 0; --i) {
      carry += block[i];
      block[i] = static_cast<uint8_t>(carry);
      carry >>= 8;
    }
  }
  sodium_memzero(enc_keys, sizeof enc_keys);
  sodium_memzero(dec_keys, sizeof dec_keys);
  require(len == 0, "AES-256-CTR: intel-ipsec-mb failed to encrypt");
}
#endif

void keystream_openssl(const Seed& key, const uint8_t (&counter)[16], uint8_t* out, uint64_t len) {
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

}  // namespace

void aes256_ctr_keystream_from(const Seed& key, const uint8_t (&counter)[16], uint8_t* out,
                               uint64_t len, AesBackend backend) {
#ifdef CIPHERLORA_HAVE_IPSEC_MB
  if (backend == AesBackend::kBest) return keystream_ipsec_mb(key, counter, out, len);
#endif
  keystream_openssl(key, counter, out, len);
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
