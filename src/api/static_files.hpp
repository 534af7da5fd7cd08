#pragma once
// Serving the console's built files (web/dist): content types, index.html fallback for
// client-side routes, no path traversal.
#include <string>
#include <string_view>

#include "api/http_types.hpp"

namespace bihuan::api {

std::string_view content_type_for(std::string_view path);
// `path` is the decoded request path ("/", "/assets/app.js", "/persons/12").
Response serve_static(const std::string& web_dir, std::string_view method, std::string_view path);

}  // namespace bihuan::api
