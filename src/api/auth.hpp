#pragma once
// Credentials: Argon2id password hashes, session cookies and API tokens (stored as SHA-256 hex),
// login rate limiting and a short-lived cache of authenticated callers. Thread-safe.
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/date.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::api {

// libsodium must be initialised once; every function below calls this itself.
void ensure_sodium();

// Argon2id (crypto_pwhash_str, interactive limits).
std::string hash_password(std::string_view password);
bool verify_password(std::string_view encoded_hash, std::string_view password);
// Hex SHA-256 of a secret (what is stored for session and API tokens).
std::string sha256_hex(std::string_view data);
// n random bytes as lower-case hex.
std::string random_hex(std::size_t bytes);
// A new API token secret: "bh_" + 64 hex characters.
std::string new_api_token();
// A new session cookie value: 64 hex characters.
std::string new_session_token();

// The authenticated caller of one request.
struct Principal {
  store::User user;
  Scope scope;
  std::string session_hash;  // non-empty when authenticated by session cookie
  bool can(Permission p) const { return has_permission(user.role, p); }
};

// The jurisdiction of a user: admin/auditor see everything unless scope_area is set, org-scoped
// roles their organisation, everyone else their area subtree.
Scope scope_of(const store::User& u);

// The principal cache's key of an API token: "t:" and a 128-bit BLAKE2b of the token keyed with
// a random key of this process.
std::string token_cache_key(std::string_view token);

// Failed-login counting per (username, address): `max_failures` failures within `window`
// block further attempts until the oldest one leaves the window.
class LoginLimiter {
 public:
  LoginLimiter(int max_failures = 5, std::chrono::milliseconds window = std::chrono::minutes(15))
      : max_(max_failures), window_(window) {}
  bool blocked(const std::string& key, Instant now);
  void failure(const std::string& key, Instant now);
  void success(const std::string& key);

 private:
  void prune(std::deque<Instant>& q, Instant now) const;
  int max_;
  std::chrono::milliseconds window_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<Instant>> failures_;
};

// token hash -> user, for a short TTL, so the hot path does not read the sessions table on
// every request. Invalidated on logout and on any user change.
class PrincipalCache {
 public:
  explicit PrincipalCache(std::chrono::milliseconds ttl = std::chrono::seconds(10)) : ttl_(ttl) {}
  // `stamp` (when given) is set to the entry's stamp: a number no other entry ever had, so that a
  // caller keeping what it read can ask later whether this very entry is still valid (stamp_of).
  std::optional<store::User> get(const std::string& token_hash, Instant now, std::uint64_t* stamp = nullptr);
  std::uint64_t put(const std::string& token_hash, const store::User& u, Instant now, Instant expires_at);
  // The stamp of the valid entry of `token_hash`, 0 when there is none (absent, expired, erased).
  std::uint64_t stamp_of(const std::string& token_hash, Instant now);
  void erase(const std::string& token_hash);
  void clear();

 private:
  struct Entry {
    store::User user;
    Instant valid_until;
    std::uint64_t stamp = 0;
  };
  std::uint64_t next_stamp_ = 1;  // guarded by mu_
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
};

// Resolves the caller from the Cookie / Authorization headers. Throws Error(unauthenticated).
class Authenticator {
 public:
  explicit Authenticator(std::chrono::milliseconds cache_ttl = std::chrono::seconds(10)) : cache_(cache_ttl) {}
  // `stamp` (when given): the principal cache's stamp of the entry the caller was found by (0 when
  // none).
  Principal authenticate(store::Repository& repo, std::string_view cookie_header,
                         std::string_view authorization_header, Instant now, std::uint64_t* stamp = nullptr);
  // The same, for a caller that keeps the last principal it was given in `kept` (one per thread):
  // an API token seen last time whose cache entry is still the same and valid is answered from
  // `kept` without a copy. A session cookie is authenticated as by authenticate().
  struct Kept {
    std::string key;
    std::uint64_t stamp = 0;
    Principal principal;
  };
  const Principal& authenticate_kept(store::Repository& repo, std::string_view cookie_header,
                                     std::string_view authorization_header, Instant now, Kept& kept);
  PrincipalCache& cache() { return cache_; }
  LoginLimiter& limiter() { return limiter_; }

 private:
  PrincipalCache cache_;
  LoginLimiter limiter_;
};

inline constexpr std::string_view kSessionCookie = "bihuan_session";
inline constexpr std::chrono::hours kSessionLifetime{12};
// Value of cookie `name` in a Cookie header, empty if absent.
std::string_view cookie_value(std::string_view header, std::string_view name);

}  // namespace bihuan::api
