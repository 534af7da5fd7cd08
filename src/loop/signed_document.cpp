#include "loop/signed_document.hpp"

#include <sodium.h>

#include <array>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.hpp"
#include "store/loop_repository.hpp"
#include "store/repository.hpp"

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

Opened open_document(std::string_view envelope, const char* format) {
  Unsealed u = unseal(envelope);
  Opened o{nlohmann::json::parse(u.payload, nullptr, false), std::move(u.key)};
  if (!o.doc.is_object()) fail(ErrorCode::invalid_argument, "the signed payload is not a JSON object", "document");
  const auto f = o.doc.find("format");  // (value("format", "") throws when format is not text)
  if (f == o.doc.end() || !f->is_string() || f->get_ref<const std::string&>() != format)
    fail(ErrorCode::invalid_argument, std::string("format must be ") + format, "format");
  return o;
}

std::string trusted_name(store::LoopRepository& loop, const std::string& key, const std::string& field) {
  auto name = loop.trusted_sender(key);
  if (!name) fail(ErrorCode::unauthenticated, "unknown sender: the key is not among the trusted senders", field);
  return *name;
}

std::string trusted_signer(store::LoopRepository& loop, const Opened& o, const std::string& key,
                           const std::string& key_field) {
  if (key != o.key)
    fail(ErrorCode::unauthenticated, key_field + " is not the key that signed the document", key_field);
  return trusted_name(loop, key, key_field);
}

Deployment deployment_of(store::Repository& repo, const code::KeyPair& k) {
  Deployment d;
  d.key = code::to_base64url(k.public_key.data(), k.public_key.size());
  d.id = repo.setting("deployment.id").value_or("bihuan-" + d.key.substr(0, 12));
  d.name = repo.setting("deployment.name").value_or(d.id);
  d.region = repo.setting("deployment.region").value_or("");
  return d;
}

}  // namespace bihuan::loop
