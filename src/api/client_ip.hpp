#pragma once
// Who is calling: the peer address, or — only when the peer is a configured trusted proxy —
// the client named by the proxy's X-Forwarded-For header. Used for the login rate limiter and
// the audit records' ip, and for who may read /metrics.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bihuan::api {

// An address block, "10.0.0.0/8", "192.168.1.7" (= /32), "fd00::/8", "::1".
class Cidr {
 public:
  // nullopt when malformed (bad address, prefix out of range).
  static std::optional<Cidr> parse(std::string_view text);
  // text: an IPv4 or IPv6 address; false when malformed. IPv4-mapped IPv6 addresses
  // (::ffff:a.b.c.d) match IPv4 blocks.
  bool contains(std::string_view address) const;
  const std::string& text() const { return text_; }

 private:
  unsigned char bytes_[16] = {};  // IPv4 blocks as IPv4-mapped IPv6
  int bits_ = 0;                  // prefix length over the 128-bit form
  std::string text_;
};

bool in_any(const std::vector<Cidr>& blocks, std::string_view address);

// The client address of a request from `peer` with the (comma-joined) X-Forwarded-For header
// `xff`: the peer itself unless it is trusted; otherwise the right-most address of the header
// that is not a trusted proxy (entries are read right to left; a malformed entry stops the
// walk at the last trusted hop). Addresses are returned in canonical text form.
std::string client_address(std::string_view peer, std::string_view xff, const std::vector<Cidr>& trusted);

}  // namespace bihuan::api
