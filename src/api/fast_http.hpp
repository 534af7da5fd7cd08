#pragma once
// The server's keep-alive fast path reads plain GET requests, and POSTs with a small body of
// known length (a venue scan), itself instead of through Beast's parser (which builds a field
// list and a message per request). scan_simple_get() decides from the bytes received so far: a
// complete, plain HTTP/1.1 GET head without a body, or POST head with one Content-Length of at
// most kSimpleBodyLimit and the whole body, is `simple`; anything else (other methods, HTTP/1.0,
// chunked bodies, Expect, Upgrade, a repeated header the server reads, obsolete line folding, a
// bare CR or LF, an unusual target) is `general` and is left to Beast, which parses the same
// bytes. So the fast path never answers a request differently from Beast; it only answers the
// common ones more cheaply.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bihuan::api {

struct SimpleGet {
  std::string_view method = "GET";  // "GET" or "POST"
  std::string_view target;         // origin form: "/api/persons?doc_number=..."
  std::string_view body;           // a POST's body (Content-Length bytes after the head)
  std::string_view authorization;  // header values without surrounding blanks ("" = absent)
  std::string_view cookie;
  std::string_view content_type;
  bool keep_alive = true;
  std::size_t size = 0;  // bytes of the request: the head (to the empty line) and the body
};

enum class HeadScan { incomplete, simple, general };

// Heads longer than this are left to Beast (its limit is larger).
inline constexpr std::size_t kSimpleHeadLimit = 8192;
// POST bodies longer than this are left to Beast (which applies the server's body limits).
inline constexpr std::size_t kSimpleBodyLimit = 16384;

// `bytes` are what the connection received and has not consumed yet. `incomplete` = a simple GET
// or POST may still follow (read more); `out` is set only for `simple`.
HeadScan scan_simple_get(std::string_view bytes, SimpleGet& out);

// The status line and header block of an answer (ending with the empty line), as the server's
// Beast path writes them for the same answer: Server, Content-Type, X-Content-Type-Options,
// Cache-Control (API answers), the extra headers, Connection: close (when not kept alive),
// Content-Length. HTTP/1.1 only.
void append_answer_head(std::string& out, int status, std::string_view content_type, bool api,
                        const std::vector<std::pair<std::string, std::string>>& extra, bool keep_alive,
                        std::size_t content_length);

}  // namespace bihuan::api
