#include "api/client_ip.hpp"

#include <utility>  // before Boost.Asio (see net.hpp)

#include <algorithm>
#include <charconv>
#include <cstring>

#include <boost/asio/ip/address.hpp>

namespace bihuan::api {

namespace {

namespace ip = boost::asio::ip;

// Address text -> 16 bytes (IPv4 as IPv4-mapped IPv6); false when malformed.
bool to_bytes(std::string_view text, unsigned char out[16], bool* v4 = nullptr) {
  boost::system::error_code ec;
  auto a = ip::make_address(std::string(text), ec);
  if (ec) return false;
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    std::memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out + 12, b.data(), 4);
    if (v4) *v4 = true;
  } else {
    auto b = a.to_v6().to_bytes();
    std::memcpy(out, b.data(), 16);
    if (v4) *v4 = false;
  }
  return true;
}

std::string canonical(std::string_view text) {
  boost::system::error_code ec;
  auto a = ip::make_address(std::string(text), ec);
  if (ec) return {};
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return a.to_v6().to_v4().to_string();
  return a.to_string();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  text = trim(text);
  Cidr c;
  c.text_ = std::string(text);
  auto slash = text.find('/');
  bool v4 = false;
  if (!to_bytes(text.substr(0, slash), c.bytes_, &v4)) return std::nullopt;
  const int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    auto p = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), bits);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || bits < 0 || bits > max_bits)
      return std::nullopt;
  }
  c.bits_ = v4 ? bits + 96 : bits;
  // Clear the host bits so contains() compares prefixes only.
  for (int i = 0; i < 16; ++i) {
    const int keep = std::max(0, std::min(8, c.bits_ - 8 * i));
    c.bytes_[i] = static_cast<unsigned char>(c.bytes_[i] & (keep == 0 ? 0 : (0xff << (8 - keep)) & 0xff));
  }
  return c;
}

bool Cidr::contains(std::string_view address) const {
  unsigned char b[16];
  if (!to_bytes(trim(address), b)) return false;
  for (int i = 0; i < 16; ++i) {
    const int keep = std::max(0, std::min(8, bits_ - 8 * i));
    if (keep == 0) break;
    const unsigned mask = (0xffu << (8 - keep)) & 0xffu;
    if ((b[i] & mask) != bytes_[i]) return false;
  }
  return true;
}

bool in_any(const std::vector<Cidr>& blocks, std::string_view address) {
  for (const auto& c : blocks)
    if (c.contains(address)) return true;
  return false;
}

std::string client_address(std::string_view peer, std::string_view xff, const std::vector<Cidr>& trusted) {
  std::string client = canonical(peer);
  if (client.empty()) client = std::string(peer);
  if (trusted.empty() || !in_any(trusted, peer)) return client;
  // Right to left: each trusted hop vouches for the entry before it.
  while (!xff.empty()) {
    auto comma = xff.rfind(',');
    std::string_view entry = trim(comma == std::string_view::npos ? xff : xff.substr(comma + 1));
    xff = comma == std::string_view::npos ? std::string_view{} : xff.substr(0, comma);
    if (entry.empty()) continue;
    std::string addr = canonical(entry);
    if (addr.empty()) break;  // malformed: trust stops at the last trusted hop
    client = addr;
    if (!in_any(trusted, addr)) break;
  }
  return client;
}

}  // namespace bihuan::api
