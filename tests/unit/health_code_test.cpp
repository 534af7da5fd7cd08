// Health code tokens: sign, verify offline, reject forged and expired; colour rules.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/health_code.hpp"
#include "core/health_code_mac.hpp"

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

std::vector<std::string> parts_of(const std::string& token) {
  std::vector<std::string> out;
  std::size_t start = 4;  // after "BH1."
  for (std::size_t i = start; i <= token.size(); ++i)
    if (i == token.size() || token[i] == '.') {
      out.push_back(token.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

std::string token_of(const std::vector<std::string>& parts) {
  std::string t = "BH1.";
  for (std::size_t i = 0; i < parts.size(); ++i) t += (i ? "." : "") + parts[i];
  return t;
}

ErrorCode refusal(const std::function<void()>& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return ErrorCode::internal;  // not refused
}

// The issuer's MAC (core/health_code_mac.hpp): issued tokens carry it; the issuer checks it
// instead of the signature; anyone with the public key still checks the signature; a token
// without it, or with a wrong one, is checked by its signature; forged, tampered and expired
// tokens are refused either way with the errors of code::verify.
TEST(HealthCode, TheIssuersMacChecksItsOwnTokensAndNeverOverridesTheSignature) {
  auto keys = test_keys(1);
  const Instant noon = at("2022-07-01T12:00:00Z");
  Claims c{42, policy::Colour::green, at("2022-07-01T00:00:00Z"), at("2022-07-02T00:00:00Z")};
  const auto token = sign(c, keys);
  auto parts = parts_of(token);
  ASSERT_EQ(parts.size(), 3u);  // payload, MAC, signature
  EXPECT_LT(token.size(), 200u);
  const auto payload = from_base64url(parts[0]);
  const auto signature = from_base64url(parts[2]);
  const auto mac = issuer_mac(std::string(payload.begin(), payload.end()), signature, keys);
  EXPECT_EQ(parts[1], to_base64url(mac.data(), mac.size()));
  // Both checks accept it, with the same claims.
  EXPECT_EQ(verify(token, keys.public_key, noon).person_id, 42);
  auto back = verify_issued(token, keys, noon);
  EXPECT_EQ(back.person_id, 42);
  EXPECT_EQ(back.colour, policy::Colour::green);
  EXPECT_EQ(back.expires, c.expires);

  // The issuer decides by the MAC: a token whose MAC is right passes without the signature check
  // (a signature that does not match its payload, with the MAC made over it, passes only here).
  auto bad_sig = parts;
  const std::vector<unsigned char> junk_sig(64, 7);
  bad_sig[2] = to_base64url(junk_sig.data(), junk_sig.size());
  const auto mac_of_junk = issuer_mac(std::string(payload.begin(), payload.end()), junk_sig, keys);
  bad_sig[1] = to_base64url(mac_of_junk.data(), mac_of_junk.size());
  EXPECT_EQ(refusal([&] { verify(token_of(bad_sig), keys.public_key, noon); }), ErrorCode::unauthenticated);
  EXPECT_EQ(verify_issued(token_of(bad_sig), keys, noon).person_id, 42);
  // A changed signature is a wrong MAC too: refused as forged, as by the signature.
  auto changed = parts;
  changed[2] = to_base64url(junk_sig.data(), junk_sig.size());
  std::string why;
  EXPECT_EQ(refusal([&] { verify_issued(token_of(changed), keys, noon); }, &why), ErrorCode::unauthenticated);
  EXPECT_NE(why.find("forged"), std::string::npos) << why;

  // A token without the MAC (issued before it) and one with a wrong MAC: the signature decides.
  EXPECT_EQ(verify_issued(token_of({parts[0], parts[2]}), keys, noon).person_id, 42);
  EXPECT_EQ(verify(token_of({parts[0], parts[2]}), keys.public_key, noon).person_id, 42);
  auto bad_mac = parts;
  bad_mac[1] = to_base64url(std::vector<unsigned char>(16, 9).data(), 16);
  EXPECT_EQ(verify_issued(token_of(bad_mac), keys, noon).person_id, 42);
  // A MAC part that is not 16 bytes of base64url is malformed for both checks.
  for (const std::string junk : {"!!", "AAAA", ""}) {
    bad_mac[1] = junk;
    EXPECT_EQ(refusal([&] { verify_issued(token_of(bad_mac), keys, noon); }), ErrorCode::unauthenticated) << junk;
    EXPECT_EQ(refusal([&] { verify(token_of(bad_mac), keys.public_key, noon); }), ErrorCode::unauthenticated) << junk;
  }
  // A wrong MAC and a wrong signature together are refused as forged.
  bad_mac[1] = to_base64url(std::vector<unsigned char>(16, 9).data(), 16);
  bad_mac[2] = changed[2];
  EXPECT_EQ(refusal([&] { verify_issued(token_of(bad_mac), keys, noon); }, &why), ErrorCode::unauthenticated);
  EXPECT_NE(why.find("forged"), std::string::npos) << why;

  // Red turned into green with the original signature and MAC: refused by both checks.
  const std::string green = "42|green|" + std::to_string(to_unix_ms(c.issued)) + "|" + std::to_string(to_unix_ms(c.expires));
  Claims red = c;
  red.colour = policy::Colour::red;
  auto red_parts = parts_of(sign(red, keys));
  red_parts[0] = to_base64url(reinterpret_cast<const unsigned char*>(green.data()), green.size());
  EXPECT_EQ(refusal([&] { verify_issued(token_of(red_parts), keys, noon); }, &why), ErrorCode::unauthenticated);
  EXPECT_NE(why.find("forged"), std::string::npos) << why;
  EXPECT_EQ(refusal([&] { verify(token_of(red_parts), keys.public_key, noon); }), ErrorCode::unauthenticated);

  // Another issuer's token (its own MAC and signature): not this issuer's MAC, nor its signature.
  auto other = test_keys(2);
  const auto foreign = sign(c, other);
  EXPECT_EQ(refusal([&] { verify_issued(foreign, keys, noon); }), ErrorCode::unauthenticated);
  EXPECT_EQ(verify_issued(foreign, other, noon).person_id, 42);
  // A MAC made with the other issuer's key on this issuer's token: the signature decides (valid).
  auto swapped = parts;
  const auto other_mac = issuer_mac(std::string(payload.begin(), payload.end()), signature, other);
  swapped[1] = to_base64url(other_mac.data(), other_mac.size());
  EXPECT_EQ(verify_issued(token_of(swapped), keys, noon).person_id, 42);

  // Expired, by either check, with the same message.
  std::string by_mac, by_sig;
  EXPECT_EQ(refusal([&] { verify_issued(token, keys, c.expires); }, &by_mac), ErrorCode::unauthenticated);
  EXPECT_EQ(refusal([&] { verify(token, keys.public_key, c.expires); }, &by_sig), ErrorCode::unauthenticated);
  EXPECT_NE(by_mac.find("expired"), std::string::npos) << by_mac;
  EXPECT_EQ(by_mac, by_sig);
  EXPECT_EQ(refusal([&] { verify_issued(token_of({parts[0], parts[2]}), keys, c.expires); }), ErrorCode::unauthenticated);

  // Malformed: too many parts, junk.
  EXPECT_EQ(refusal([&] { verify_issued(token + ".x", keys, noon); }), ErrorCode::unauthenticated);
  EXPECT_EQ(refusal([&] { verify(token + ".x", keys.public_key, noon); }), ErrorCode::unauthenticated);
  for (const char* junk : {"", "BH1.", "BH1.abc", "BH1.!!.??", "BH1.!!.??.!!", "XYZ.a.b.c"})
    EXPECT_EQ(refusal([&] { verify_issued(junk, keys, noon); }), ErrorCode::unauthenticated) << junk;
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
