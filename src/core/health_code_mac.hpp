#pragma once
// The issuer's check of its own health codes (issue 8): a token code::sign issued carries, before
// its Ed25519 signature, a MAC keyed with a key derived from the issuer's secret key:
//   "BH1." + base64url(payload) + "." + base64url(mac) + "." + base64url(signature)
// mac = the first 16 bytes of HMAC-SHA-256(mac key, payload "." signature) (so that a change to
// the signature is a wrong MAC as well), mac key = HMAC-SHA-256(the
// Ed25519 seed, "bihuan health code mac v1"). Any verifier holding the public key still checks
// the signature (code::verify checks only that the MAC has 16 bytes); the issuer itself checks
// the MAC instead, about a
// microsecond against the signature's tens. A token without the MAC (issued before it), with
// another issuer's MAC or with a wrong one is checked by its signature, so the MAC never lets a
// token pass that the signature would refuse.
#include <array>
#include <span>
#include <string_view>

#include "core/health_code.hpp"

namespace bihuan::code {

// The MAC of `payload` and its `signature` under the MAC key of `keys` (16 bytes).
std::array<unsigned char, 16> issuer_mac(std::string_view payload, std::span<const unsigned char> signature,
                                         const KeyPair& keys);

// Verifies `token` for its issuer `keys`: by the MAC when it carries this issuer's, else by the
// signature (code::verify). The same claims and the same errors as code::verify.
Claims verify_issued(std::string_view token, const KeyPair& keys, Instant now);

}  // namespace bihuan::code
