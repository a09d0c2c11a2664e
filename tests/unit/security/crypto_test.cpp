#include "security/crypto.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rapidcheck/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace isla::security {
namespace {

TEST(Crypto, HmacMatchesRfc4231TestCase2) {
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, HmacMatchesRfc4231TestCase6WithAKeyLongerThanABlock) {
  EXPECT_EQ(to_hex(hmac_sha256(std::string(131, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// The precomputed key gives the same MAC as OpenSSL's own HMAC for keys shorter than, as
// long as and longer than SHA-256's 64-byte block, and may be reused and shared.
TEST(Crypto, PrecomputedHmacKeyMatchesOpenSslHmac) {
  for (std::size_t key_size : {0, 1, 32, 63, 64, 65, 200}) {
    std::string key(key_size, '\0');
    for (std::size_t i = 0; i < key_size; ++i) key[i] = static_cast<char>(i * 7 + 1);
    const HmacSha256Key precomputed(key);
    for (std::string_view data : {std::string_view(), std::string_view("isla-request-v1\nGET")}) {
      unsigned char expected[32];
      unsigned int size = 0;
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), expected, &size);
      const auto want = to_hex(std::string_view(reinterpret_cast<char*>(expected), size));
      EXPECT_EQ(to_hex(precomputed.mac(data)), want) << "key of " << key_size << " bytes";
      EXPECT_EQ(to_hex(precomputed.mac(data)), want) << "second use, key of " << key_size;
      EXPECT_EQ(to_hex(hmac_sha256(key, data)), want) << "key of " << key_size << " bytes";
    }
  }
}

TEST(Crypto, PrecomputedHmacKeyIsSharedAcrossThreads) {
  const HmacSha256Key key(std::string(32, 'k'));
  const auto want = key.mac("same message");
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (key.mac("same message") != want) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Crypto, Sha256OfTheEmptyString) {
  EXPECT_EQ(to_hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Again, on the thread's reused context.
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Crypto, HexRejectsOddLengthAndNonDigits) {
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_EQ(from_hex("00ff"), std::string("\x00\xff", 2));
}

TEST(Crypto, Base64urlRejectsImpossibleLengthsAndNonCanonicalTails) {
  EXPECT_FALSE(from_base64url("A"));
  EXPECT_FALSE(from_base64url("AB"));  // the last 4 bits of 'B' are not zero
  EXPECT_EQ(from_base64url("AA"), std::string(1, '\0'));
  EXPECT_FALSE(from_base64url("a+b/"));  // base64, not base64url
}

RC_GTEST_PROP(Crypto, HexAndBase64urlRoundTrip, (const std::string& bytes)) {
  RC_ASSERT(from_hex(to_hex(bytes)) == bytes);
  RC_ASSERT(from_base64url(to_base64url(bytes)) == bytes);
}

TEST(Crypto, RandomBytesDiffer) {
  EXPECT_EQ(random_bytes(32).size(), 32u);
  EXPECT_NE(random_bytes(16), random_bytes(16));
}

TEST(Crypto, ConstantTimeEqualityComparesLengthAndContent) {
  EXPECT_TRUE(equal_in_constant_time("abc", "abc"));
  EXPECT_FALSE(equal_in_constant_time("abc", "abd"));
  EXPECT_FALSE(equal_in_constant_time("abc", "abcd"));
}

}  // namespace
}  // namespace isla::security
