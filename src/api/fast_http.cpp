#include "api/net.hpp"  // first: <utility> before Boost.Asio

#include "api/fast_http.hpp"

#include <algorithm>
#include <charconv>

namespace bihuan::api {

namespace {

bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool iequals(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(a[i]);
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c | 0x20);
    if (c != static_cast<unsigned char>(lower[i])) return false;
  }
  return true;
}

std::string_view trim_blanks(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

constexpr std::string_view kGet = "GET ";
constexpr std::string_view kPost = "POST ";

// Whether `b` starts with `word` (or with a beginning of it when `b` is shorter).
bool starts_as(std::string_view b, std::string_view word) {
  const std::size_t n = std::min(b.size(), word.size());
  return b.substr(0, n) == word.substr(0, n);
}

}  // namespace

HeadScan scan_simple_get(std::string_view b, SimpleGet& out) {
  // Not a GET or POST (or leading blank lines, which Beast handles): no need to wait for the rest.
  if (!starts_as(b, kGet) && !starts_as(b, kPost)) return HeadScan::general;
  const std::size_t end = b.find("\r\n\r\n");
  if (end == std::string_view::npos)
    return b.size() < kSimpleHeadLimit ? HeadScan::incomplete : HeadScan::general;
  if (end + 4 > kSimpleHeadLimit) return HeadScan::general;
  const std::string_view method = b.starts_with(kGet) ? kGet : b.starts_with(kPost) ? kPost : std::string_view{};
  if (method.empty()) return HeadScan::general;  // "GET\r\n\r\n" and the like
  const std::string_view head = b.substr(0, end + 2);  // every line with its CRLF

  // Request line: GET|POST SP origin-form SP HTTP/1.1
  std::size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  const std::string_view rest = line.substr(method.size());
  const std::size_t sp = rest.find(' ');
  if (sp == std::string_view::npos || rest.substr(sp + 1) != "HTTP/1.1") return HeadScan::general;
  SimpleGet g;
  g.method = method.substr(0, method.size() - 1);
  g.target = rest.substr(0, sp);
  if (g.target.empty() || g.target.front() != '/') return HeadScan::general;
  for (char ch : g.target) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) return HeadScan::general;
  }

  bool seen_length = false;
  std::size_t length = 0;
  bool seen_auth = false, seen_cookie = false, seen_type = false, seen_connection = false;
  std::size_t pos = eol + 2;
  while (pos < head.size()) {
    eol = head.find("\r\n", pos);
    const std::string_view field = head.substr(pos, eol - pos);
    pos = eol + 2;
    const std::size_t colon = field.find(':');
    if (colon == 0 || colon == std::string_view::npos) return HeadScan::general;  // also obsolete folding
    const std::string_view name = field.substr(0, colon);
    for (char ch : name)
      if (!is_tchar(static_cast<unsigned char>(ch))) return HeadScan::general;
    const std::string_view raw = field.substr(colon + 1);
    for (char ch : raw) {
      const auto c = static_cast<unsigned char>(ch);
      if ((c < 0x20 && c != '\t') || c == 0x7f) return HeadScan::general;  // CTLs, bare CR or LF
    }
    const std::string_view value = trim_blanks(raw);
    if (iequals(name, "authorization")) {
      if (seen_auth) return HeadScan::general;
      seen_auth = true;
      g.authorization = value;
    } else if (iequals(name, "cookie")) {
      if (seen_cookie) return HeadScan::general;
      seen_cookie = true;
      g.cookie = value;
    } else if (iequals(name, "content-type")) {
      if (seen_type) return HeadScan::general;
      seen_type = true;
      g.content_type = value;
    } else if (iequals(name, "connection")) {
      if (seen_connection) return HeadScan::general;
      seen_connection = true;
      if (iequals(value, "close"))
        g.keep_alive = false;
      else if (!iequals(value, "keep-alive"))
        return HeadScan::general;
    } else if (iequals(name, "content-length")) {
      // A POST's one plain decimal length (no sign, no list, not too long); a GET has no body.
      if (seen_length || g.method != "POST" || value.empty() || value.size() > 5) return HeadScan::general;
      seen_length = true;
      for (char ch : value) {
        if (ch < '0' || ch > '9') return HeadScan::general;
        length = length * 10 + static_cast<std::size_t>(ch - '0');
      }
      if (length > kSimpleBodyLimit) return HeadScan::general;
    } else if (iequals(name, "transfer-encoding") || iequals(name, "expect") || iequals(name, "upgrade") ||
               iequals(name, "x-forwarded-for")) {
      return HeadScan::general;
    }
  }
  if (g.method == "POST" && !seen_length) return HeadScan::general;
  if (b.size() - (end + 4) < length) return HeadScan::incomplete;  // the rest of the body
  g.body = b.substr(end + 4, length);
  g.size = end + 4 + length;
  out = g;
  return HeadScan::simple;
}

void append_answer_head(std::string& out, int status, std::string_view content_type, bool api,
                        const std::vector<std::pair<std::string, std::string>>& extra, bool keep_alive,
                        std::size_t content_length) {
  const auto reason = http::obsolete_reason(static_cast<http::status>(status));
  char num[24];
  out.append("HTTP/1.1 ");
  out.append(num, static_cast<std::size_t>(std::to_chars(num, num + sizeof num, status).ptr - num));
  out.push_back(' ');
  out.append(reason.data(), reason.size());
  out.append("\r\nServer: bihuan\r\nContent-Type: ");
  out.append(content_type);
  out.append("\r\nX-Content-Type-Options: nosniff\r\n");
  // API answers are not cached unless the route says otherwise (the public portal's).
  const bool route_caches = std::any_of(extra.begin(), extra.end(), [](const auto& h) { return h.first == "Cache-Control"; });
  if (api && !route_caches) out.append("Cache-Control: no-store\r\n");
  for (const auto& [name, value] : extra) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
  }
  if (!keep_alive) out.append("Connection: close\r\n");
  out.append("Content-Length: ");
  out.append(num, static_cast<std::size_t>(std::to_chars(num, num + sizeof num, content_length).ptr - num));
  out.append("\r\n\r\n");
}

}  // namespace bihuan::api
