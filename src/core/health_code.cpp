#include "core/health_code.hpp"

#include <sodium.h>

#include <cstring>

#include <charconv>

#include "core/error.hpp"
#include "core/health_code_mac.hpp"

namespace bihuan::code {

namespace {

void init_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) fail(ErrorCode::internal, "libsodium failed to initialise");
}

constexpr std::string_view kPrefix = "BH1.";

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::int64_t to_i64(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) fail(ErrorCode::unauthenticated, "malformed health code token");
  return v;
}

policy::Colour colour_of(std::string_view s) {
  if (s == "green") return policy::Colour::green;
  if (s == "yellow") return policy::Colour::yellow;
  if (s == "red") return policy::Colour::red;
  fail(ErrorCode::unauthenticated, "malformed health code token: unknown colour");
}

// The claims of a payload whose signature or MAC checked, and the expiry.
Claims claims_of(const std::vector<unsigned char>& payload, Instant now) {
  std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  auto fields = split(text, '|');
  if (fields.size() != 4) fail(ErrorCode::unauthenticated, "malformed health code token");
  Claims c;
  c.person_id = to_i64(fields[0]);
  c.colour = colour_of(fields[1]);
  c.issued = from_unix_ms(to_i64(fields[2]));
  c.expires = from_unix_ms(to_i64(fields[3]));
  if (now >= c.expires) fail(ErrorCode::unauthenticated, "expired health code token: expired at " + format_instant(c.expires));
  return c;
}

// The MAC key of a key pair (see core/health_code_mac.hpp), kept per thread for the last key.
const std::array<unsigned char, 32>& mac_key_of(const KeyPair& keys) {
  thread_local std::array<unsigned char, 32> pk{}, key{};
  thread_local bool set = false;
  if (!set || pk != keys.public_key) {
    static constexpr std::string_view kContext = "bihuan health code mac v1";
    // The Ed25519 secret key is seed || public key; the seed keys the derivation.
    crypto_auth_hmacsha256(key.data(), reinterpret_cast<const unsigned char*>(kContext.data()), kContext.size(),
                           keys.secret_key.data());
    pk = keys.public_key;
    set = true;
  }
  return key;
}

}  // namespace

std::array<unsigned char, 16> issuer_mac(std::string_view payload, std::span<const unsigned char> signature,
                                         const KeyPair& keys) {
  init_sodium();
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, mac_key_of(keys).data(), 32);
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(payload.data()), payload.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>("."), 1);
  crypto_auth_hmacsha256_update(&st, signature.data(), signature.size());
  unsigned char full[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&st, full);
  std::array<unsigned char, 16> out{};
  std::memcpy(out.data(), full, out.size());
  return out;
}

Claims verify_issued(std::string_view token, const KeyPair& keys, Instant now) {
  init_sodium();
  if (token.substr(0, kPrefix.size()) == kPrefix) {
    auto parts = split(token.substr(kPrefix.size()), '.');
    if (parts.size() == 3) {
      std::vector<unsigned char> payload, mac, sig;
      try {
        payload = from_base64url(parts[0]);
        mac = from_base64url(parts[1]);
        sig = from_base64url(parts[2]);
      } catch (const Error&) {
        mac.clear();
      }
      if (mac.size() == 16 && sig.size() == crypto_sign_BYTES) {
        const auto want =
            issuer_mac(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()), sig, keys);
        if (sodium_memcmp(want.data(), mac.data(), want.size()) == 0) return claims_of(payload, now);
      }
    }
  }
  return verify(token, keys.public_key, now);  // no MAC of this issuer: the signature decides
}

KeyPair generate_keys() {
  init_sodium();
  KeyPair k;
  crypto_sign_keypair(k.public_key.data(), k.secret_key.data());
  return k;
}

KeyPair keys_from_seed(const std::array<unsigned char, 32>& seed) {
  init_sodium();
  KeyPair k;
  crypto_sign_seed_keypair(k.public_key.data(), k.secret_key.data(), seed.data());
  return k;
}

std::string to_base64url(const unsigned char* data, std::size_t n) {
  init_sodium();
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::vector<unsigned char> from_base64url(std::string_view s) {
  init_sodium();
  if (s.empty()) return {};  // an empty vector's data() is null, which libsodium must not get
  std::vector<unsigned char> out(s.size());
  std::size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), s.data(), s.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    fail(ErrorCode::invalid_argument, "not base64url");
  out.resize(len);
  return out;
}

std::string sign(const Claims& c, const KeyPair& keys) {
  init_sodium();
  std::string payload = std::to_string(c.person_id) + "|" + policy::to_string(c.colour) + "|" +
                        std::to_string(to_unix_ms(c.issued)) + "|" + std::to_string(to_unix_ms(c.expires));
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
                       keys.secret_key.data());
  const auto mac = issuer_mac(payload, sig, keys);
  return std::string(kPrefix) + to_base64url(reinterpret_cast<const unsigned char*>(payload.data()), payload.size()) +
         "." + to_base64url(mac.data(), mac.size()) + "." + to_base64url(sig, sizeof sig);
}

Claims verify(std::string_view token, const std::array<unsigned char, 32>& public_key, Instant now) {
  init_sodium();
  if (token.substr(0, kPrefix.size()) != kPrefix) fail(ErrorCode::unauthenticated, "not a bihuan health code token");
  // payload.signature, or payload.mac.signature (the issuer's MAC: 16 bytes, not checked here).
  auto parts = split(token.substr(kPrefix.size()), '.');
  if (parts.size() != 2 && parts.size() != 3) fail(ErrorCode::unauthenticated, "malformed health code token");
  std::vector<unsigned char> payload, sig;
  try {
    payload = from_base64url(parts[0]);
    sig = from_base64url(parts.back());
    if (parts.size() == 3 && from_base64url(parts[1]).size() != 16)
      fail(ErrorCode::unauthenticated, "malformed health code token");
  } catch (const Error&) {
    fail(ErrorCode::unauthenticated, "malformed health code token");
  }
  if (sig.size() != crypto_sign_BYTES ||
      crypto_sign_verify_detached(sig.data(), payload.data(), payload.size(), public_key.data()) != 0)
    fail(ErrorCode::unauthenticated, "forged health code token: the signature does not match");
  return claims_of(payload, now);
}

policy::Colour colour_on(const ColourInputs& in, Date day) {
  policy::Colour c = policy::Colour::green;
  auto raise = [&c](policy::Colour x) {
    if (static_cast<int>(x) > static_cast<int>(c)) c = x;
  };
  for (const auto& plan : in.active_plans) raise(policy::colour_on(plan, day));
  if (in.test_overdue) raise(policy::Colour::yellow);
  if (in.inside_high_risk_area) raise(policy::Colour::red);
  raise(in.test_flag);
  return c;
}

}  // namespace bihuan::code
