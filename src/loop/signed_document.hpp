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

#include <nlohmann/json.hpp>

#include "core/health_code.hpp"

namespace bihuan::store {
class Repository;
class LoopRepository;
}  // namespace bihuan::store

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

// A signed envelope's document (signature checked over the exact payload bytes) whose "format"
// member is `format`. Errors as unseal, and invalid_argument (field "document" or "format").
struct Opened {
  nlohmann::json doc;
  std::string key;  // the signing key
};
Opened open_document(std::string_view envelope, const char* format);

// The trusted name of the deployment holding `key` (the trusted senders of the loop repository),
// or unauthenticated naming `field`.
std::string trusted_name(store::LoopRepository& loop, const std::string& key, const std::string& field);
// The sender's key named inside the signed document (`key`, member `key_field`) must be the key
// that signed it, and that key must be trusted; returns the trusted name.
std::string trusted_signer(store::LoopRepository& loop, const Opened& o, const std::string& key,
                           const std::string& key_field);

// This deployment as its documents name it (settings deployment.id, deployment.name,
// deployment.region; the key is the signer's public key).
struct Deployment {
  std::string id, name, region, key;
};
Deployment deployment_of(store::Repository& repo, const code::KeyPair& k);

}  // namespace bihuan::loop
