#include "loop/signed_document.hpp"

#include <sodium.h>

#include <array>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.hpp"

namespace bihuan::loop {

namespace {

void init_sodium() {
  if (sodium_init() < 0) fail(ErrorCode::internal, "libsodium failed to initialise");
}

std::vector<unsigned char> decode(const nlohmann::json& env, const char* field) {
  if (!env.contains(field) || !env[field].is_string())
    fail(ErrorCode::unauthenticated, std::string("bad signature: the envelope has no ") + field, "signature");
  try {
    return code::from_base64url(env[field].get<std::string>());
  } catch (const Error&) {
    fail(ErrorCode::unauthenticated, std::string("bad signature: ") + field + " is not base64url", "signature");
  }
}

}  // namespace

std::string seal(std::string_view payload, const code::KeyPair& keys) {
  init_sodium();
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
                       keys.secret_key.data());
  nlohmann::ordered_json env;
  env["format"] = kEnvelopeFormat;
  env["key"] = code::to_base64url(keys.public_key.data(), keys.public_key.size());
  env["payload"] = code::to_base64url(reinterpret_cast<const unsigned char*>(payload.data()), payload.size());
  env["signature"] = code::to_base64url(sig.data(), sig.size());
  return env.dump();
}

Unsealed unseal(std::string_view envelope) {
  const auto env = nlohmann::json::parse(envelope, nullptr, false);
  if (!env.is_object()) fail(ErrorCode::invalid_argument, "the document is not a JSON object", "document");
  // (Not env.value("format", ""): it throws nlohmann's type_error when format is not text.)
  const auto format = env.find("format");
  if (format == env.end() || !format->is_string() || format->get_ref<const std::string&>() != kEnvelopeFormat)
    fail(ErrorCode::invalid_argument,
         "format must be " + std::string(kEnvelopeFormat) +
             " (a signed envelope; documents signed over re-serialised JSON are not accepted)",
         "format");
  const auto key = decode(env, "key");
  const auto payload = decode(env, "payload");
  const auto sig = decode(env, "signature");
  if (key.size() != crypto_sign_PUBLICKEYBYTES || sig.size() != crypto_sign_BYTES)
    fail(ErrorCode::unauthenticated, "bad signature: wrong key or signature size", "signature");
  init_sodium();
  if (crypto_sign_verify_detached(sig.data(), payload.data(), payload.size(), key.data()) != 0)
    fail(ErrorCode::unauthenticated, "bad signature: the payload was not signed with the envelope's key or was altered",
         "signature");
  return {std::string(payload.begin(), payload.end()), env["key"].get<std::string>()};
}

}  // namespace bihuan::loop
