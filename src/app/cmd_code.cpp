// bihuan code keygen | sign | verify: health-code signing keys and offline verification.
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "core/health_code.hpp"

namespace bihuan::app {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  if (!in) fail(ErrorCode::not_found, "cannot read " + p.string(), "key");
  std::string s;
  std::getline(in, s);
  return s;
}

template <std::size_t N>
std::array<unsigned char, N> decode_key(const fs::path& p) {
  auto bytes = code::from_base64url(read_text(p));
  if (bytes.size() != N) fail(ErrorCode::invalid_argument, p.string() + " does not hold a key of " + std::to_string(N) + " bytes", "key");
  std::array<unsigned char, N> out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

policy::Colour colour_from(const std::string& s) {
  for (auto c : {policy::Colour::green, policy::Colour::yellow, policy::Colour::red})
    if (s == policy::to_string(c)) return c;
  fail(ErrorCode::invalid_argument, "colour must be green, yellow or red", "colour");
}

const bool registered = add_command([](CLI::App& app) {
  auto* cmd = app.add_subcommand("code", "Health codes: signing keys, sign, verify offline");
  cmd->require_subcommand(1);
  static std::string key = "var/code-signing", token, colour = "green";
  static std::int64_t person = 0;
  static int hours = 24;

  auto* keygen = cmd->add_subcommand("keygen", "Create an Ed25519 key pair: KEY.secret (0600) and KEY.pub");
  keygen->add_option("--key", key, "path prefix of the key files")->capture_default_str();
  keygen->callback([] {
    fs::path secret = key + ".secret", pub = key + ".pub";
    if (fs::exists(secret)) fail(ErrorCode::conflict, secret.string() + " exists; refusing to overwrite a signing key", "key");
    if (secret.has_parent_path()) fs::create_directories(secret.parent_path());
    auto k = code::generate_keys();
    {
      std::ofstream out(secret);
      out << code::to_base64url(k.secret_key.data(), k.secret_key.size()) << "\n";
    }
    ::chmod(secret.c_str(), 0600);
    std::ofstream(pub) << code::to_base64url(k.public_key.data(), k.public_key.size()) << "\n";
    std::cout << "public key: " << pub.string() << "\n";
  });

  auto* sign = cmd->add_subcommand("sign", "Sign a code for a person (normally the server does this)");
  sign->add_option("--key", key, "path prefix of the key files")->capture_default_str();
  sign->add_option("--person", person, "person id")->required();
  sign->add_option("--colour", colour, "green, yellow or red")->capture_default_str();
  sign->add_option("--hours", hours, "validity in hours")->capture_default_str()->check(CLI::Range(1, 168));
  sign->callback([] {
    code::KeyPair k;
    k.secret_key = decode_key<64>(key + ".secret");
    k.public_key = decode_key<32>(key + ".pub");
    auto now = SystemClock{}.now();
    std::cout << code::sign({person, colour_from(colour), now, now + std::chrono::hours{hours}}, k) << "\n";
  });

  auto* verify = cmd->add_subcommand("verify", "Verify a token offline with the public key; prints its claims");
  verify->add_option("TOKEN", token, "the token from the QR code")->required();
  verify->add_option("--key", key, "path prefix of the key files (KEY.pub is read)")->capture_default_str();
  verify->callback([] {
    auto c = code::verify(token, decode_key<32>(key + ".pub"), SystemClock{}.now());
    nlohmann::ordered_json j{{"valid", true},
                             {"person_id", c.person_id},
                             {"colour", policy::to_string(c.colour)},
                             {"issued", format_instant(c.issued)},
                             {"expires", format_instant(c.expires)}};
    std::cout << j.dump(2) << "\n";
  });
});

}  // namespace
}  // namespace bihuan::app
