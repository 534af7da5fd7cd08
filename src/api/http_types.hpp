#pragma once
// Transport-independent request and response. The server converts Beast messages to and from
// these, so route handlers are plain functions that never see a socket.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace bihuan::api {

struct Deferred;  // router.hpp: work a handler hands off the database workers
struct PendingScan;  // scan_batch.hpp: a venue scan whose visit the server appends with others

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path, without the query string
  std::map<std::string, std::string, std::less<>> query;   // decoded query parameters (last wins)
  std::map<std::string, std::string, std::less<>> params;  // {name} segments of the matched route
  std::string body;
  std::string content_type;
  std::string cookie;         // the raw Cookie header
  std::string authorization;  // the raw Authorization header
  std::string client_ip;      // the peer, or the client named by a trusted proxy (client_ip.hpp)
  std::string route;          // the matched route template, set by Router::handle ("" = none)

  // Query parameter or empty string when absent.
  std::string_view q(std::string_view name) const {
    auto it = query.find(name);
    return it == query.end() ? std::string_view{} : std::string_view{it->second};
  }
  bool has_q(std::string_view name) const { return query.find(name) != query.end(); }
  std::string_view param(std::string_view name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string_view{} : std::string_view{it->second};
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Set-Cookie, ...)
  // Set by Context::offload when the server runs the handler: the answer is not ready yet.
  std::shared_ptr<Deferred> deferred;
  // Set by the scan route when Context::can_batch_scans: the visit is still to be appended.
  std::shared_ptr<PendingScan> pending_scan;

  static Response json(const nlohmann::json& j, int status = 200) {
    Response r;
    r.status = status;
    r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  }
  static Response error(int status, std::string_view code, std::string_view message, std::string_view field = {}) {
    return json({{"code", code}, {"message", message}, {"field", field}}, status);
  }
  std::optional<std::string_view> header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return std::string_view{v};
    return std::nullopt;
  }
};

// Parses "a=1&b=x%20y" into map (percent- and '+'-decoding). Malformed escapes are kept as is.
std::map<std::string, std::string, std::less<>> parse_query(std::string_view qs);
std::string percent_decode(std::string_view s, bool plus_is_space);

}  // namespace bihuan::api
