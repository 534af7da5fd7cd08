#include "api/auth.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "core/error.hpp"

namespace bihuan::api {

void ensure_sodium() {
  static const int rc = sodium_init();
  if (rc < 0) fail(ErrorCode::internal, "libsodium failed to initialise");
}

std::string hash_password(std::string_view password) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    fail(ErrorCode::internal, "out of memory while hashing a password");
  return std::string(out);
}

bool verify_password(std::string_view encoded_hash, std::string_view password) {
  ensure_sodium();
  if (encoded_hash.empty() || encoded_hash.size() >= crypto_pwhash_STRBYTES) return false;
  char buf[crypto_pwhash_STRBYTES] = {};
  std::copy(encoded_hash.begin(), encoded_hash.end(), buf);
  return crypto_pwhash_str_verify(buf, password.data(), password.size()) == 0;
}

namespace {
std::string to_hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 0xF];
  }
  return out;
}
}  // namespace

std::string sha256_hex(std::string_view data) {
  ensure_sodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return to_hex(digest, sizeof digest);
}

std::string random_hex(std::size_t bytes) {
  ensure_sodium();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string new_api_token() { return "bh_" + random_hex(32); }
std::string new_session_token() { return random_hex(32); }

std::string token_cache_key(std::string_view token) {
  ensure_sodium();
  // A key of this process only: the cache key of a token cannot be computed elsewhere.
  static const auto key = [] {
    std::array<unsigned char, crypto_generichash_KEYBYTES> k{};
    randombytes_buf(k.data(), k.size());
    return k;
  }();
  unsigned char mac[16];
  crypto_generichash(mac, sizeof mac, reinterpret_cast<const unsigned char*>(token.data()), token.size(), key.data(),
                     key.size());
  std::string out = "t:";
  out.append(reinterpret_cast<const char*>(mac), sizeof mac);
  return out;
}

Scope scope_of(const store::User& u) {
  if (org_scoped(u.role)) return Scope::org(u.scope_org);
  if ((u.role == Role::admin || u.role == Role::auditor) && u.scope_area.empty()) return Scope::everything();
  // An area-scoped role with no area configured sees nothing rather than everything.
  if (u.scope_area.empty()) return Scope::area("-");
  return Scope::area(u.scope_area);
}

// --- LoginLimiter
void LoginLimiter::prune(std::deque<Instant>& q, Instant now) const {
  while (!q.empty() && q.front() + window_ <= now) q.pop_front();
}

bool LoginLimiter::blocked(const std::string& key, Instant now) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return false;
  prune(it->second, now);
  if (it->second.empty()) {
    failures_.erase(it);
    return false;
  }
  return static_cast<int>(it->second.size()) >= max_;
}

void LoginLimiter::failure(const std::string& key, Instant now) {
  std::lock_guard lock(mu_);
  // Keep the map bounded under a flood of distinct usernames: drop stale entries now and then.
  if (failures_.size() > 100000) {
    for (auto it = failures_.begin(); it != failures_.end();) {
      prune(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
  }
  auto& q = failures_[key];
  prune(q, now);
  q.push_back(now);
}

void LoginLimiter::success(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

// --- PrincipalCache
std::optional<store::User> PrincipalCache::get(const std::string& token_hash, Instant now, std::uint64_t* stamp) {
  std::lock_guard lock(mu_);
  auto it = map_.find(token_hash);
  if (it == map_.end()) return std::nullopt;
  if (it->second.valid_until <= now) {
    map_.erase(it);
    return std::nullopt;
  }
  if (stamp) *stamp = it->second.stamp;
  return it->second.user;
}

std::uint64_t PrincipalCache::put(const std::string& token_hash, const store::User& u, Instant now,
                                  Instant expires_at) {
  std::lock_guard lock(mu_);
  if (map_.size() > 50000) map_.clear();
  const std::uint64_t stamp = next_stamp_++;
  map_[token_hash] = Entry{u, std::min(now + ttl_, expires_at), stamp};
  return stamp;
}

std::uint64_t PrincipalCache::stamp_of(const std::string& token_hash, Instant now) {
  std::lock_guard lock(mu_);
  auto it = map_.find(token_hash);
  if (it == map_.end()) return 0;
  if (it->second.valid_until <= now) {
    map_.erase(it);
    return 0;
  }
  return it->second.stamp;
}

void PrincipalCache::erase(const std::string& token_hash) {
  std::lock_guard lock(mu_);
  map_.erase(token_hash);
}

void PrincipalCache::clear() {
  std::lock_guard lock(mu_);
  map_.clear();
}

// --- Authenticator
std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    auto eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    if (part.substr(0, eq) == name) {
      auto v = part.substr(eq + 1);
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      return v;
    }
  }
  return {};
}

namespace {
// The token of an "Authorization: Bearer ..." header ("" = none).
std::string_view bearer_of(std::string_view authorization) {
  if (authorization.size() > 7 && (authorization.substr(0, 7) == "Bearer " || authorization.substr(0, 7) == "bearer "))
    return authorization.substr(7);
  return {};
}

// Whether two secrets of the same length are equal, in a time that depends on the length only (no
// hint of where they differ): eight bytes at a time, where sodium_memcmp goes byte by byte
// through volatile reads (perf: 1 % of the scan's I/O thread, for one token).
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  std::uint64_t diff = 0;
  std::size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    std::uint64_t x = 0, y = 0;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    diff |= x ^ y;
  }
  for (; i < a.size(); ++i) diff |= static_cast<std::uint64_t>(static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]));
  return diff == 0;
}

// token_cache_key of the token this thread saw last: a client on a kept-alive connection sends
// the same token with every request. Compared in constant time (no hint of a token's bytes).
const std::string& memo_token_cache_key(std::string_view token) {
  thread_local std::string last_token, last_key;
  if (last_key.empty() || !same_secret(last_token, token)) {
    last_key = token_cache_key(token);
    last_token.assign(token);
  }
  return last_key;
}
}  // namespace

Principal Authenticator::authenticate(store::Repository& repo, std::string_view cookie_header,
                                      std::string_view authorization, Instant now, std::uint64_t* stamp) {
  if (stamp) *stamp = 0;
  const std::string_view bearer = bearer_of(authorization);
  std::string_view session = bearer.empty() ? cookie_value(cookie_header, kSessionCookie) : std::string_view{};
  if (bearer.empty() && session.empty()) fail(ErrorCode::unauthenticated, "authentication required");

  const bool by_token = !bearer.empty();
  // Domain-separate the two kinds of secret in the cache key. A session is keyed by the SHA-256
  // the sessions table stores (logout needs it); an API token by a keyed BLAKE2b of the token
  // (a third of the cost of SHA-256 on the hot path), its SHA-256 computed only on a miss.
  std::string hash = by_token ? std::string() : sha256_hex(session);
  const std::string key = by_token ? memo_token_cache_key(bearer) : "s:" + hash;
  Principal p;
  if (auto cached = cache_.get(key, now, stamp)) {
    p.user = std::move(*cached);
  } else {
    Instant valid_until = now + std::chrono::hours(24);
    std::int64_t user_id = 0;
    if (by_token) {
      hash = sha256_hex(bearer);
      auto t = repo.token_by_hash(hash);
      if (!t || t->revoked) fail(ErrorCode::unauthenticated, "invalid or revoked API token");
      user_id = t->user_id;
    } else {
      auto s = repo.session(hash);
      if (!s || s->expires_at <= now) fail(ErrorCode::unauthenticated, "session expired; log in again");
      user_id = s->user_id;
      valid_until = s->expires_at;
    }
    auto u = repo.user(user_id);
    if (!u || !u->active) fail(ErrorCode::unauthenticated, "user is disabled");
    p.user = std::move(*u);
    const std::uint64_t put = cache_.put(key, p.user, now, valid_until);
    if (stamp) *stamp = put;
  }
  if (!by_token) p.session_hash = hash;
  p.scope = scope_of(p.user);
  return p;
}

const Principal& Authenticator::authenticate_kept(store::Repository& repo, std::string_view cookie_header,
                                                  std::string_view authorization, Instant now, Kept& kept) {
  if (const std::string_view bearer = bearer_of(authorization); !bearer.empty()) {
    const std::string& key = memo_token_cache_key(bearer);
    if (kept.stamp != 0 && kept.key == key && cache_.stamp_of(key, now) == kept.stamp) return kept.principal;
    kept.stamp = 0;
    kept.principal = authenticate(repo, cookie_header, authorization, now, &kept.stamp);
    kept.key = key;
    return kept.principal;
  }
  kept.stamp = 0;
  kept.key.clear();
  kept.principal = authenticate(repo, cookie_header, authorization, now);
  return kept.principal;
}

}  // namespace bihuan::api
