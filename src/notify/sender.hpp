#pragma once
// Delivery of the outbox to the deployment's HTTP gateway (an SMS / app-push provider or a relay
// in front of one). Each due message is POSTed as JSON
//   {"id": 12, "channel": "sms", "recipient": "13800000000", "kind": "otp", "body": "..."}
// with `Authorization: Bearer TOKEN` and `Idempotency-Key: bihuan-12` (a retry of the same
// message carries the same key); a 2xx answer delivers it (its JSON "id", if any, is kept as the
// provider id), anything else or no answer is a failed attempt: the message waits
// notify::backoff_after and is tried again, and after notify.max_attempts it is dead. A one-time
// code's body is redacted once it is sent, dead or expired. Without a gateway nothing is sent:
// messages stay queued (GET /api/notify/outbox says so).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/date.hpp"
#include "notify/outbox.hpp"
#include "store/repository.hpp"

namespace bihuan::notify {

struct Gateway {
  std::string url;    // http://host[:port]/path ("" = none configured)
  std::string token;  // bearer token ("" = none)
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  bool configured() const { return !url.empty(); }
};

struct GatewayUrl {
  std::string host, port, target;
};
// Parses http://host[:port][/path]; Error(invalid_argument, field "notify_gateway") otherwise
// (https is not spoken here: put a local TLS relay in front of the provider).
GatewayUrl parse_gateway_url(const std::string& url);

// What one POST to the gateway did.
struct Attempt {
  bool ok = false;
  std::string provider_id;
  std::string error;  // "HTTP 503: ..." or the network error
};
// POSTs one message (blocking, with the gateway's timeout).
Attempt post_message(const Gateway& g, const store::Message& m);

class Sender {
 public:
  Sender(store::Repository& repo, Gateway gateway, const Clock& clock);
  struct Result {
    int sent = 0, failed = 0, dead = 0, expired = 0;
  };
  // Delivers the messages due now (at most `limit`). Settings are read at each run.
  Result run(int limit = 200);
  const Gateway& gateway() const { return gateway_; }

 private:
  store::Repository& repo_;
  Gateway gateway_;
  const Clock& clock_;
};

}  // namespace bihuan::notify
