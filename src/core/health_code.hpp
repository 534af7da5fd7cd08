#pragma once
// Health code (健康码): each person's colour follows from their control orders under the active
// profile; the code itself is a compact token signed with Ed25519 that any scanner holding the
// public key verifies offline.
//
// Token: "BH1." + base64url(payload) + "." + base64url(signature), payload =
// "person_id|colour|issued_unix_ms|expires_unix_ms". Short enough for a QR code.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/policy.hpp"

namespace bihuan::code {

struct KeyPair {
  std::array<unsigned char, 32> public_key{};
  std::array<unsigned char, 64> secret_key{};
};
// A fresh key pair from the system's CSPRNG (libsodium).
KeyPair generate_keys();
KeyPair keys_from_seed(const std::array<unsigned char, 32>& seed);  // deterministic, for tests

struct Claims {
  std::int64_t person_id = 0;
  policy::Colour colour = policy::Colour::green;
  Instant issued{};
  Instant expires{};
};

std::string sign(const Claims& c, const KeyPair& keys);
// Verifies signature and expiry. Throws Error(unauthenticated) for a malformed or forged token
// (message says which) and for an expired one ("expired at ...").
Claims verify(std::string_view token, const std::array<unsigned char, 32>& public_key, Instant now);

// What decides a colour on a given day: the plans of the person's active orders and whether a
// required test is overdue.
struct ColourInputs {
  std::vector<policy::Plan> active_plans;
  bool test_overdue = false;
  bool inside_high_risk_area = false;
  // The colour an open testing flag asks for (a member of a positive pool awaiting its re-test).
  policy::Colour test_flag = policy::Colour::green;
};
// Red if any plan is red that day or the person is inside a high-risk area; yellow if any plan is
// yellow or a test is overdue; at least the testing flag's colour; green otherwise.
policy::Colour colour_on(const ColourInputs& in, Date day);

std::string to_base64url(const unsigned char* data, std::size_t n);
std::vector<unsigned char> from_base64url(std::string_view s);  // throws Error(invalid_argument)

}  // namespace bihuan::code
