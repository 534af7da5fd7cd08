#pragma once
// The one include of Boost.Asio/Beast for bihuan. Boost 1.74's awaitable.hpp uses std::exchange
// without including <utility>, so <utility> must come first.
#include <utility>

// At -O2/-O3 GCC 12 reports a "potential null pointer dereference" inside Asio's scheduler
// (scheduler.ipp, compensating_work_started) once it is inlined into our coroutines. The
// diagnostic is issued at the end of the translation unit, so it cannot be pushed/popped
// around the includes; it is off for every file that uses the network layer.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace bihuan::api {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
}  // namespace bihuan::api
