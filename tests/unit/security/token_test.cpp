#include "security/token.hpp"

#include <gtest/gtest.h>

#include "security/crypto.hpp"

namespace isla::security {
namespace {

const std::string kKey(32, 'k');
const Claims kClaims{"alice", Role::write, 1'000, 61'000, "0011223344556677"};

TEST(Token, MintedTokenVerifiesToItsClaims) {
  const auto token = mint_token(kKey, kClaims);
  EXPECT_TRUE(token.starts_with("isla1."));
  auto checked = verify_token(kKey, token, 30'000);
  ASSERT_TRUE(std::holds_alternative<Claims>(checked)) << std::get<std::string>(checked);
  EXPECT_EQ(std::get<Claims>(checked), kClaims);
}

TEST(Token, ExpiredTokenIsRefused) {
  auto checked = verify_token(kKey, mint_token(kKey, kClaims), 61'000);
  ASSERT_TRUE(std::holds_alternative<std::string>(checked));
  EXPECT_EQ(std::get<std::string>(checked), "token has expired");
}

TEST(Token, AnotherIslandsKeyIsRefused) {
  auto checked = verify_token(std::string(32, 'x'), mint_token(kKey, kClaims), 30'000);
  ASSERT_TRUE(std::holds_alternative<std::string>(checked));
  EXPECT_NE(std::get<std::string>(checked).find("signature"), std::string::npos);
}

// A forger who edits the claims (read -> admin) cannot fix the signature.
TEST(Token, EditedClaimsAreRefused) {
  const auto token = mint_token(kKey, kClaims);
  const auto dot = token.rfind('.');
  Claims admin = kClaims;
  admin.role = Role::admin;
  const auto forged_claims = mint_token(std::string(32, 'x'), admin);
  const auto forged = forged_claims.substr(0, forged_claims.rfind('.')) + token.substr(dot);
  EXPECT_TRUE(std::holds_alternative<std::string>(verify_token(kKey, forged, 30'000)));
}

TEST(Token, MalformedTokensAreRefusedWithoutThrowing) {
  for (std::string_view bad : {"", "isla1.", "isla1..", "isla1.a.b.c", "Bearer x", "isla1.!!!.AAAA",
                               "isla1.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
    EXPECT_TRUE(std::holds_alternative<std::string>(verify_token(kKey, bad, 0))) << bad;
  }
  EXPECT_TRUE(std::holds_alternative<std::string>(
      verify_token(kKey, "isla1." + std::string(kMaxTokenBytes, 'A') + ".x", 0)));
}

TEST(Token, ClaimsCanBeReadWithoutTheKeyForRevocation) {
  auto claims = read_claims(mint_token(kKey, kClaims));
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->id, kClaims.id);
}

}  // namespace
}  // namespace isla::security
