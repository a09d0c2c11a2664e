#include "security/crypto.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace isla::security {
namespace {

TEST(Crypto, HmacMatchesRfc4231TestCase2) {
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, Sha256OfTheEmptyString) {
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
