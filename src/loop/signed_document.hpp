#pragma once
// Signed documents between deployments (跨地区交接: handover documents and receipts), signed and
// verified over the exact bytes sent. A document travels in an envelope:
//
//   {"format": "bihuan-signed/1",
//    "key": "<the signer's Ed25519 public key, base64url>",
//    "payload": "<the document's exact bytes (UTF-8 JSON), base64url>",
//    "signature": "<Ed25519 over those bytes, base64url>"}
//
// The signature covers the payload bytes as they were produced, never a re-serialisation:
// the envelope itself may be re-indented or its keys reordered by any JSON tool on the way
// and still verifies, while a single changed byte of the payload does not.
#include <string>
#include <string_view>

#include "core/health_code.hpp"

namespace bihuan::loop {

inline constexpr std::string_view kEnvelopeFormat = "bihuan-signed/1";

// The envelope text for `payload`, signed with `keys`.
std::string seal(std::string_view payload, const code::KeyPair& keys);

struct Unsealed {
  std::string payload;  // the exact signed bytes
  std::string key;      // the signer's public key (base64url), as named by the envelope
};
// Checks the envelope's signature over its payload with the key it names; whether that key is
// trusted is the caller's decision. Errors: invalid_argument (not an envelope: field
// "document" or "format"), unauthenticated (field "signature": malformed or not matching).
Unsealed unseal(std::string_view envelope);

}  // namespace bihuan::loop
