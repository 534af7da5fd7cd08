// The CPU cost of checking a health-code token at a venue scan (issue 8), one thread:
//  - Verify: code::verify as POST /api/scan calls it for a token it has not seen (parse, base64url,
//    Ed25519 signature, expiry);
//  - Ed25519Only: libsodium's crypto_sign_verify_detached on the same payload and signature;
//  - VerifyIssued: code::verify_issued, the issuer's check by its MAC (core/health_code_mac.hpp);
//  - VerifyOldToken: code::verify_issued of a token without the MAC (by the signature);
//  - KeyedHash: crypto_generichash (BLAKE2b) keyed with 32 bytes over the payload, 16 bytes out,
//    for comparison with the HMAC-SHA-256 the MAC uses;
//  - Sign: code::sign (what issuing a code costs).
// See bench/RESULTS.md for the command and the numbers.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "core/health_code.hpp"
#include "core/health_code_mac.hpp"

namespace {

using namespace bihuan;

struct Fixture {
  code::KeyPair keys;
  code::Claims claims;
  std::string token, payload;
  std::vector<unsigned char> sig;
  Instant now{std::chrono::milliseconds{1'700'000'000'000}};
  Fixture() {
    std::array<unsigned char, 32> seed{};
    for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<unsigned char>(i * 7 + 1);
    keys = code::keys_from_seed(seed);
    claims.person_id = 1234567;
    claims.colour = policy::Colour::green;
    claims.issued = now;
    claims.expires = now + std::chrono::hours{24};
    token = code::sign(claims, keys);
    // "BH1." payload ["." MAC] "." signature
    const auto a = token.find('.'), b = token.find('.', a + 1), e = token.rfind('.');
    const auto p = code::from_base64url(std::string_view(token).substr(a + 1, b - a - 1));
    payload.assign(p.begin(), p.end());
    sig = code::from_base64url(std::string_view(token).substr(e + 1));
  }
};

const Fixture& fx() {
  static const Fixture f;
  return f;
}

void Verify(benchmark::State& st) {
  const auto& f = fx();
  for (auto _ : st) benchmark::DoNotOptimize(code::verify(f.token, f.keys.public_key, f.now + std::chrono::minutes{1}));
}
BENCHMARK(Verify);

void VerifyIssued(benchmark::State& st) {
  const auto& f = fx();
  for (auto _ : st) benchmark::DoNotOptimize(code::verify_issued(f.token, f.keys, f.now + std::chrono::minutes{1}));
}
BENCHMARK(VerifyIssued);

void VerifyOldToken(benchmark::State& st) {
  const auto& f = fx();
  // The same token without its MAC (payload.signature), as issued before it.
  const auto a = f.token.find('.'), b = f.token.find('.', a + 1), e = f.token.rfind('.');
  const std::string old = f.token.substr(0, b) + f.token.substr(e);
  for (auto _ : st) benchmark::DoNotOptimize(code::verify_issued(old, f.keys, f.now + std::chrono::minutes{1}));
}
BENCHMARK(VerifyOldToken);

void Ed25519Only(benchmark::State& st) {
  const auto& f = fx();
  for (auto _ : st) {
    const int rc = crypto_sign_verify_detached(f.sig.data(), reinterpret_cast<const unsigned char*>(f.payload.data()),
                                               f.payload.size(), f.keys.public_key.data());
    benchmark::DoNotOptimize(rc);
  }
}
BENCHMARK(Ed25519Only);

void KeyedHash(benchmark::State& st) {
  const auto& f = fx();
  std::array<unsigned char, 32> key{};
  key.fill(3);
  std::array<unsigned char, 16> mac{};
  for (auto _ : st) {
    crypto_generichash(mac.data(), mac.size(), reinterpret_cast<const unsigned char*>(f.payload.data()), f.payload.size(),
                       key.data(), key.size());
    benchmark::DoNotOptimize(mac);
  }
}
BENCHMARK(KeyedHash);

void Sign(benchmark::State& st) {
  const auto& f = fx();
  for (auto _ : st) benchmark::DoNotOptimize(code::sign(f.claims, f.keys));
}
BENCHMARK(Sign);

}  // namespace

BENCHMARK_MAIN();
