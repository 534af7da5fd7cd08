#pragma once
// Alerts pushed to the console (docs/API-alerts.md): GET /api/alerts/recent gives the alerts of
// the caller's scope raised after a cursor (the closed loop's and testing's, each as its own list
// shows them); GET /api/alerts/stream is the same as Server-Sent Events: the server keeps the
// connection and sends each new batch within about a second of the alert being written.
#include <string_view>

#include "api/router.hpp"

namespace bihuan::api {

void add_alert_routes(Router& router);

// The route the server turns into an event stream once it has answered 200.
inline constexpr std::string_view kAlertStreamRoute = "/api/alerts/stream";
inline constexpr std::string_view kAlertRecentRoute = "/api/alerts/recent";

}  // namespace bihuan::api
