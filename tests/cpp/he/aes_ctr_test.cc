#include "he/aes_ctr.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cipherlora {
namespace {

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

Seed seed_from_hex(const std::string& hex) {
  Seed s;
  const auto b = from_hex(hex);
  std::copy(b.begin(), b.end(), s.bytes.begin());
  return s;
}

// NIST SP 800-38A, F.5.5 CTR-AES256.Encrypt: keystream = ciphertext XOR plaintext.
TEST(AesCtr, NistSp80038aVectorF55) {
  const Seed key =
      seed_from_hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
  const uint8_t counter[16] = {0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
                               0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff};
  const auto plain = from_hex(
      "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
      "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
  const auto cipher = from_hex(
      "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
      "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6");
  for (AesBackend backend : {AesBackend::kBest, AesBackend::kOpenSsl}) {
    std::vector<uint8_t> ks(64);
    aes256_ctr_keystream_from(key, counter, ks.data(), ks.size(), backend);
    for (size_t i = 0; i < 64; ++i) EXPECT_EQ(ks[i] ^ plain[i], cipher[i]) << i;
  }
}

// The fast path (intel-ipsec-mb where built) against OpenSSL: counters whose low 32 bits wrap
// inside the stream (the library increments only those; the carry is ours), a carry through all
// 128 bits, and lengths that end mid-block or take several of its jobs.
TEST(AesCtr, FastPathMatchesOpenSsl) {
  Seed key;
  for (int i = 0; i < 32; ++i) key.bytes[i] = static_cast<uint8_t>(7 * i + 3);
  const uint8_t starts[][16] = {
      {},                                                            // zero
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfd},  // low word wraps
      {0, 0, 0, 0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xfe},  // wraps all 128 bits
  };
  for (const auto& start : starts)
    for (uint64_t len : {1, 15, 16, 17, 64, 100, 4096 + 5, 200000 + 3}) {  // the last: several jobs
      std::vector<uint8_t> fast(len), reference(len);
      aes256_ctr_keystream_from(key, start, fast.data(), len, AesBackend::kBest);
      aes256_ctr_keystream_from(key, start, reference.data(), len, AesBackend::kOpenSsl);
      ASSERT_EQ(fast, reference) << "len " << len << " start byte 15 = " << int{start[15]};
    }
}

TEST(AesCtr, BlockOffsetsAddressTheSameStream) {
  Seed key;
  for (int i = 0; i < 32; ++i) key.bytes[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> whole(16 * 100), part(16 * 7);
  aes256_ctr_keystream(key, 0, whole.data(), whole.size());
  aes256_ctr_keystream(key, 42, part.data(), part.size());
  EXPECT_TRUE(std::equal(part.begin(), part.end(), whole.begin() + 16 * 42));
  // Known answer from the OpenSSL command line: `openssl enc -aes-256-ctr -K 0001..1f -iv 0`.
  const auto expect = from_hex("f29000b62a499fd0a9f39a6add2e7780f05d76ae4ab99fe5a6f69b3148c2363d");
  EXPECT_TRUE(std::equal(expect.begin(), expect.end(), whole.begin()));
}

}  // namespace
}  // namespace cipherlora
