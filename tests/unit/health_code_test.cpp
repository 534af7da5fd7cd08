// Health code tokens: sign, verify offline, reject forged and expired; colour rules.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/health_code.hpp"

namespace bihuan::code {
namespace {

Instant at(const char* s) { return *parse_instant(s); }

KeyPair test_keys(unsigned char fill) {
  std::array<unsigned char, 32> seed{};
  seed.fill(fill);
  return keys_from_seed(seed);
}

TEST(HealthCode, SignedTokenVerifiesOffline) {
  auto keys = test_keys(1);
  Claims c{42, policy::Colour::yellow, at("2022-07-01T00:00:00Z"), at("2022-07-02T00:00:00Z")};
  auto token = sign(c, keys);
  EXPECT_EQ(token.rfind("BH1.", 0), 0u);
  EXPECT_LT(token.size(), 200u);  // fits a small QR code
  auto back = verify(token, keys.public_key, at("2022-07-01T12:00:00Z"));
  EXPECT_EQ(back.person_id, 42);
  EXPECT_EQ(back.colour, policy::Colour::yellow);
  EXPECT_EQ(back.expires, c.expires);
}

TEST(HealthCode, ForgedAndExpiredTokensAreRejected) {
  auto keys = test_keys(1);
  Claims c{42, policy::Colour::red, at("2022-07-01T00:00:00Z"), at("2022-07-02T00:00:00Z")};
  auto token = sign(c, keys);
  // Someone turns red into green by re-encoding the payload: the signature no longer matches.
  std::string forged_payload = "42|green|" + std::to_string(to_unix_ms(c.issued)) + "|" + std::to_string(to_unix_ms(c.expires));
  auto dot = token.rfind('.');
  std::string forged = "BH1." + to_base64url(reinterpret_cast<const unsigned char*>(forged_payload.data()),
                                             forged_payload.size()) + token.substr(dot);
  try {
    verify(forged, keys.public_key, at("2022-07-01T12:00:00Z"));
    FAIL() << "forged token accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unauthenticated);
    EXPECT_NE(std::string(e.what()).find("forged"), std::string::npos);
  }
  // Signed by another key.
  EXPECT_THROW(verify(sign(c, test_keys(2)), keys.public_key, at("2022-07-01T12:00:00Z")), Error);
  // Expired.
  try {
    verify(token, keys.public_key, at("2022-07-02T00:00:00Z"));
    FAIL() << "expired token accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expired"), std::string::npos);
  }
  for (const char* junk : {"", "BH1.", "BH1.abc", "BH1.!!.??", "XYZ.a.b"})
    EXPECT_THROW(verify(junk, keys.public_key, at("2022-07-01T12:00:00Z")), Error) << junk;
}

TEST(HealthCode, ColourIsTheWorstThatApplies) {
  policy::Plan plan;
  plan.phases.push_back({policy::Measure::central_quarantine, policy::Colour::red, *parse_date("2022-07-01"),
                         *parse_date("2022-07-07"), {}});
  plan.phases.push_back({policy::Measure::home_health_monitoring, policy::Colour::yellow, *parse_date("2022-07-08"),
                         *parse_date("2022-07-10"), {}});
  ColourInputs in{{plan}, false, false};
  EXPECT_EQ(colour_on(in, *parse_date("2022-07-03")), policy::Colour::red);
  EXPECT_EQ(colour_on(in, *parse_date("2022-07-09")), policy::Colour::yellow);
  EXPECT_EQ(colour_on(in, *parse_date("2022-07-11")), policy::Colour::green);
  in.test_overdue = true;
  EXPECT_EQ(colour_on(in, *parse_date("2022-07-11")), policy::Colour::yellow);
  in.inside_high_risk_area = true;
  EXPECT_EQ(colour_on(in, *parse_date("2022-07-11")), policy::Colour::red);
}

}  // namespace
}  // namespace bihuan::code

// Found by fuzz/transfer_fuzz: an empty text must decode to no bytes without handing libsodium a
// null pointer (UBSan nonnull-attribute).
TEST(HealthCode, EmptyBase64urlDecodesToNothing) {
  EXPECT_TRUE(bihuan::code::from_base64url("").empty());
  const unsigned char ab[] = {0x61, 0x62};
  EXPECT_EQ(bihuan::code::from_base64url(bihuan::code::to_base64url(ab, sizeof ab)).size(), 2u);
}
