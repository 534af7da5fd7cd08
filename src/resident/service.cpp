#include "resident/service.hpp"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/health_code.hpp"
#include "loop/service.hpp"
#include "notify/outbox.hpp"
#include "store/notify_repository.hpp"
#include "store/settings.hpp"

namespace bihuan::resident {

namespace {

// What a resident's phone says of a colour.
std::string colour_name(const std::string& c) {
  if (c == "green") return "绿码";
  if (c == "yellow") return "黄码";
  if (c == "red") return "红码";
  return c;
}


void init_sodium() {
  static const int rc = sodium_init();
  if (rc < 0) fail(ErrorCode::internal, "libsodium failed to initialise");
}

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 0xF];
  }
  return out;
}

std::string random_hex(std::size_t bytes) {
  init_sodium();
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  return hex(raw.data(), raw.size());
}

std::string sha256_hex(const std::string& s) {
  init_sodium();
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  return hex(d, sizeof d);
}

std::string code_hash(const std::string& salt, const std::string& code) { return sha256_hex(salt + ":" + code); }

bool same(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Whether a text is valid UTF-8 (an appeal's reason and an answer are stored and shown).
bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (n < 0 || i + static_cast<std::size_t>(n) >= s.size() + (n == 0 ? 1 : 0)) return false;
    for (int k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += static_cast<std::size_t>(n) + 1;
  }
  return true;
}

std::string checked_text(const std::string& raw, const char* field, const char* what, std::size_t max_bytes) {
  std::string t = trim(raw);
  if (t.empty()) fail(ErrorCode::invalid_argument, std::string(what) + " is required", field);
  if (t.size() > max_bytes)
    fail(ErrorCode::invalid_argument, std::string(what) + " is longer than " + std::to_string(max_bytes) + " bytes", field);
  if (!valid_utf8(t)) fail(ErrorCode::invalid_argument, std::string(what) + " is not valid UTF-8", field);
  return t;
}

const std::vector<std::string> kGrid = {"grid_worker"};
const std::vector<std::string> kCentre = {"command_centre"};

}  // namespace

Settings read_settings(store::Repository& repo) {
  Settings s;
  s.otp_lifetime = std::chrono::minutes{store::setting_int(repo, "resident.otp_minutes", 5, 1, 30)};
  s.otp_attempts = store::setting_int(repo, "resident.otp_attempts", 5, 1, 10);
  s.otp_per_hour = store::setting_int(repo, "resident.otp_per_hour", 5, 1, 60);
  s.session_lifetime = std::chrono::hours{store::setting_int(repo, "resident.session_hours", 12, 1, 24 * 30)};
  s.appeal_deadline = std::chrono::hours{store::setting_int(repo, "resident.appeal_hours", 24, 1, 24 * 14)};
  return s;
}

std::string normalise_id(const std::string& s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string normalise_phone(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c)))
      out += c;
    else if (c == '+' && out.empty())
      out += c;
  }
  return out;
}

Service::Service(store::Repository& repo, const loop::Profiles* profiles, loop::CodeSigner* signer, const Clock& clock,
                 LocalTime local, Settings s)
    : repo_(repo),
      profiles_(profiles),
      signer_(signer),
      clock_(clock),
      local_(std::move(local)),
      s_(s),
      r_(store::open_resident_repository(repo)) {}

Service::~Service() = default;

std::optional<Person> Service::person_by(const std::string& id_number, const std::string& phone) {
  const std::string id = normalise_id(id_number);
  const std::string ph = normalise_phone(phone);
  if (id.empty() || ph.size() < 5) return std::nullopt;
  auto p = repo_.person_by_doc(id, Scope::everything());
  if (!p || p->merged_into != 0) return std::nullopt;
  const std::string stored = normalise_phone(p->phone);
  if (stored.empty() || !same(stored, ph)) return std::nullopt;
  return p;
}

bool Service::request_code(const std::string& id_number, const std::string& phone) {
  bool queued = false;
  repo_.transaction([&] {
    auto p = person_by(id_number, phone);
    if (!p) return;
    const Instant now = clock_.now();
    if (r_->otps_since(p->id, now - std::chrono::hours{1}) >= s_.otp_per_hour) return;
    if (auto last = r_->latest_otp(p->id); last && last->created_at + s_.otp_gap > now) return;
    init_sodium();
    char code[8];
    std::snprintf(code, sizeof code, "%06u", static_cast<unsigned>(randombytes_uniform(1000000)));
    store::OtpRow o;
    o.person_id = p->id;
    o.salt = random_hex(16);
    o.code_hash = code_hash(o.salt, code);
    o.created_at = now;
    o.expires_at = now + s_.otp_lifetime;
    const auto id = r_->insert_otp(o);
    auto notify = store::open_notify_repository(repo_);
    notify::enqueue_sms(*notify, p->id, p->phone, p->area_code, "otp",
                        notify::otp_text(code, static_cast<int>(s_.otp_lifetime.count())), "otp:" + std::to_string(id),
                        now, o.expires_at);
    sodium_memzero(code, sizeof code);
    queued = true;
  });
  return queued;
}

std::optional<SignIn> Service::sign_in(const std::string& id_number, const std::string& phone, const std::string& code,
                                       const std::string& ip) {
  std::optional<SignIn> out;
  repo_.transaction([&] {
    auto p = person_by(id_number, phone);
    if (!p) return;
    auto otp = r_->latest_otp(p->id);
    const Instant now = clock_.now();
    if (!otp || otp->expires_at <= now || otp->attempts >= s_.otp_attempts) return;
    const std::string entered = trim(code);
    if (entered.size() != 6 || !same(code_hash(otp->salt, entered), otp->code_hash)) {
      r_->otp_failed(otp->id);  // committed: wrong entries count even though nothing else is written
      return;
    }
    if (!r_->use_otp(otp->id, now)) return;
    SignIn s;
    s.token = random_hex(32);
    s.person_id = p->id;
    s.expires = now + s_.session_lifetime;
    store::ResidentSessionRow row;
    row.token_hash = sha256_hex(s.token);
    row.person_id = p->id;
    row.created_at = now;
    row.expires_at = s.expires;
    row.ip = ip;
    r_->put_session(row);
    out = std::move(s);
  });
  return out;
}

std::optional<std::int64_t> Service::session_person(const std::string& token) {
  if (token.size() != 64) return std::nullopt;
  auto s = r_->session(sha256_hex(token));
  if (!s || s->expires_at <= clock_.now()) return std::nullopt;
  return s->person_id;
}

void Service::sign_out(const std::string& token) {
  repo_.transaction([&] { r_->delete_session(sha256_hex(token)); });
}

MeView Service::me(std::int64_t person_id) {
  MeView v;
  auto p = repo_.person(person_id, Scope::everything());
  if (!p) fail(ErrorCode::unauthenticated, "the session's person no longer exists; sign in again");
  v.person = std::move(*p);
  const Instant now = clock_.now();
  const Date today = local_.date_of(now);
  if (profiles_) {
    loop::Service loop(repo_, *profiles_, clock_);
    v.colour = loop.colour_of(person_id, today);
    for (auto& o : loop.loop().active_orders_of_person(person_id)) {
      OrderView ov;
      try {
        ov.plan = loop.plan_of(o);
      } catch (const Error&) {
        ov.plan.profile = o.order.profile;
      }
      ov.tests = loop.loop().tests_of(o.order.id);
      ov.order = std::move(o);
      v.orders.push_back(std::move(ov));
    }
    v.profile = loop.active_profile();
    if (profiles_->has(v.profile)) v.profile_title = profiles_->get(v.profile).title;
  }
  if (signer_) {
    v.token_expires = now + std::chrono::hours{24};
    v.token = code::sign({person_id, v.colour, now, v.token_expires}, signer_->keys());
  }
  auto nat = store::open_nat_repository(repo_);
  v.results = nat->results_of_person(person_id, 20);
  v.antigen = nat->antigen_of_person(person_id, 20);
  v.appeals = r_->appeals_of(person_id, 20);
  return v;
}

std::string Service::area_name(const std::string& code) {
  if (code.empty()) return {};
  auto a = repo_.area(code);
  return a ? a->name : code;
}

store::AppealRow Service::file_appeal(std::int64_t person_id, const std::string& reason_text) {
  const std::string reason = checked_text(reason_text, "reason", "a reason", 2000);
  std::optional<store::AppealRow> out;
  repo_.transaction([&] {
    auto p = repo_.person(person_id, Scope::everything());
    if (!p) fail(ErrorCode::unauthenticated, "the session's person no longer exists; sign in again");
    for (const auto& a : r_->appeals_of(person_id, 50))
      if (a.status == "open") fail(ErrorCode::conflict, "an appeal of yours is open already (#" + std::to_string(a.id) + ")", "reason");
    const Instant now = clock_.now();
    policy::Colour colour = policy::Colour::green;
    if (profiles_) {
      loop::Service loop(repo_, *profiles_, clock_);
      colour = loop.colour_of(person_id, local_.date_of(now));
    }
    if (colour == policy::Colour::green)
      fail(ErrorCode::invalid_argument, "your health code is green: there is no colour to correct", "colour");
    store::AppealRow a;
    a.person_id = person_id;
    a.area_code = p->area_code;
    a.colour = policy::to_string(colour);
    a.reason = reason;
    a.created_at = now;
    a.due_at = now + s_.appeal_deadline;
    a.id = r_->insert_appeal(a);
    auto notify = store::open_notify_repository(repo_);
    const std::string due = local_.format(a.due_at);
    const std::string key = "appeal:" + std::to_string(a.id);
    notify::enqueue_sms(*notify, person_id, p->phone, p->area_code, "appeal_received",
                        notify::appeal_received_text(a.id, due), key + ":received", now);
    const std::string area = area_name(p->area_code);
    // To the grid workers of the area; with none, to the command centre over it.
    if (notify::enqueue_staff(*notify, kGrid, p->area_code, 0, "appeal_new", notify::appeal_new_text(a.id, area, due),
                              key + ":new", now) == 0)
      notify::enqueue_staff(*notify, kCentre, p->area_code, 0, "appeal_new", notify::appeal_new_text(a.id, area, due),
                            key + ":new", now);
    out = r_->appeal(a.id);
  });
  return *out;
}

store::AppealRow Service::visible(std::int64_t id, const Caller& c) {
  auto a = r_->appeal(id);
  bool in = false;
  if (a) {
    if (c.everything())
      in = true;
    else if (c.scope.kind == Scope::Kind::area && !c.scope.area_prefix.empty())
      in = in_subtree(a->area_code, c.scope.area_prefix);
  }
  if (!in) fail(ErrorCode::not_found, "no such appeal: " + std::to_string(id), "id");
  return *a;
}

store::PageOf<store::AppealRow> Service::appeals(const std::string& status, store::Page page, const Caller& c) {
  if (!status.empty() && status != "open" && status != "upheld" && status != "rejected" && status != "overdue")
    fail(ErrorCode::invalid_argument, "status must be open, upheld, rejected or overdue", "status");
  return r_->appeals(c.scope, status, clock_.now(), page);
}

store::AppealRow Service::appeal(std::int64_t id, const Caller& c) { return visible(id, c); }

std::vector<AppealCause> Service::causes(std::int64_t id, const Caller& c) {
  std::vector<AppealCause> out;
  repo_.transaction([&] {
    const auto a = visible(id, c);
    if (!profiles_) return;  // no closed loop: nothing but green
    auto loop = store::open_loop_repository(repo_);
    for (const auto& o : loop->active_orders_of_person(a.person_id)) {
      std::string org_area;
      if (o.order.current.owner.kind == loop::Owner::Kind::org)
        if (auto org = repo_.org(o.order.current.owner.org_id)) org_area = org->area_code;
      const bool holds = acts_for(c, o.order.current.owner, org_area);
      AppealCause k;
      k.kind = "order";
      k.id = k.order_id = o.order.id;
      k.group = o.order.group;
      k.stage = std::string(loop::to_string(o.order.current.stage));
      k.correctable = holds && !o.order.pending && c.can(Permission::loop_write);
      if (!k.correctable)
        k.why_not = o.order.pending ? "the order is being handed over" : "the order is held by another unit; ask its holder";
      out.push_back(k);
      store::AlertFilter f;
      f.kind = "test_missing";
      f.order_id = o.order.id;
      for (const auto& al : loop->find_alerts(f, Scope::everything(), {0, 100})) {
        if (al.status == "closed") continue;
        AppealCause t;
        t.kind = "test_missing";
        t.id = al.id;
        t.order_id = o.order.id;
        t.group = k.group;
        t.stage = k.stage;
        t.subject = al.subject;
        t.correctable = k.correctable;
        t.why_not = k.why_not;
        out.push_back(t);
      }
    }
    const auto flag = store::open_nat_repository(repo_)->open_flag(a.person_id);
    if (!flag.empty()) {
      AppealCause f;
      f.kind = "test_flag";
      f.subject = flag;
      f.why_not = "a pooled test was positive: a single-tube re-test clears it";
      out.push_back(f);
    }
  });
  return out;
}

store::AppealRow Service::answer(std::int64_t id, bool upheld, const std::string& answer_text, const Caller& c,
                                 const std::vector<Correction>& corrections) {
  const std::string text = checked_text(answer_text, "answer", upheld ? "what changes" : "the reason for the rejection", 2000);
  if (!upheld && !corrections.empty())
    fail(ErrorCode::invalid_argument, "a rejected appeal corrects nothing", "corrections");
  std::optional<store::AppealRow> out;
  repo_.transaction([&] {
    auto a = visible(id, c);
    if (!c.can(Permission::loop_write))
      fail(ErrorCode::permission_denied, std::string("role ") + to_string(c.role) + " may not answer appeals", "role");
    if (a.status != "open") fail(ErrorCode::conflict, "the appeal is answered already", "status");
    const Instant now = clock_.now();
    std::string colour_after;
    if (upheld && profiles_) {
      // The corrections, each as the loop makes it (its own checks and audit record), inside this
      // transaction: a refused one leaves nothing, the answer included.
      loop::Service loop(repo_, *profiles_, clock_);
      auto orders = store::open_loop_repository(repo_);
      const std::string note = "赋码纠错 #" + std::to_string(id) + ": " + text;
      for (std::size_t i = 0; i < corrections.size(); ++i) {
        const auto& k = corrections[i];
        const std::string field = "corrections[" + std::to_string(i) + "]";
        if (k.kind == "order") {
          auto o = orders->order(k.id, Scope::everything());
          if (!o || o->order.person_id != a.person_id)
            fail(ErrorCode::invalid_argument, "order " + std::to_string(k.id) + " is not an order of this person", field);
          if (!loop.end_order(k.id, note, c))
            fail(ErrorCode::conflict,
                 "order " + std::to_string(k.id) + " cannot be ended by you: it is not active, is being handed over, "
                 "or is held by another unit (ask its holder)", field);
        } else if (k.kind == "test_missing") {
          auto al = orders->alert(k.id);
          auto o = al ? orders->order(al->order_id, Scope::everything()) : std::nullopt;
          if (!al || al->kind != "test_missing" || !o || o->order.person_id != a.person_id)
            fail(ErrorCode::invalid_argument, "alert " + std::to_string(k.id) + " is not a missed test of this person", field);
          if (al->status == "closed") fail(ErrorCode::conflict, "alert " + std::to_string(k.id) + " is closed already", field);
          std::string org_area;
          if (o->order.current.owner.kind == loop::Owner::Kind::org)
            if (auto org = repo_.org(o->order.current.owner.org_id)) org_area = org->area_code;
          if (!acts_for(c, o->order.current.owner, org_area))
            fail(ErrorCode::conflict, "alert " + std::to_string(k.id) + " belongs to an order held by another unit (ask its holder)",
                 field);
          loop.close_alert(k.id, note, c);
        } else {
          fail(ErrorCode::invalid_argument, "a correction is an order to end or a missed-test alert to close", field);
        }
      }
      const auto after = loop.colour_of(a.person_id, local_.date_of(now));
      colour_after = std::string(policy::to_string(after));
      if (colour_after == a.colour)
        fail(ErrorCode::conflict,
             "the colour is still " + a.colour + ": an upheld appeal corrects what makes it (end the wrongly issued order, "
             "close the alert of a test that was done), or ask the unit that holds it",
             "corrections");
    }
    if (!r_->answer_appeal(id, upheld ? "upheld" : "rejected", text, c.user_id, now, colour_after))
      fail(ErrorCode::conflict, "the appeal is answered already", "status");
    auto notify = store::open_notify_repository(repo_);
    std::string sms = text;
    if (!colour_after.empty()) sms += "（健康码现为" + colour_name(colour_after) + "）";
    notify::enqueue_sms(*notify, a.person_id, notify->phone_of(a.person_id), a.area_code, "appeal_answered",
                        notify::appeal_answered_text(id, upheld, sms), "appeal:" + std::to_string(id) + ":answered", now);
    out = r_->appeal(id);
  });
  return *out;
}

std::vector<store::AppealRow> Service::sweep(Instant now) {
  std::vector<store::AppealRow> out;
  repo_.transaction([&] {
    // Expired sessions and codes older than a day (the hourly limit looks back one hour).
    r_->purge_expired(now, now - std::chrono::hours{24});
    auto notify = store::open_notify_repository(repo_);
    for (auto& a : r_->overdue_appeals(now, 1, 200)) {
      r_->set_appeal_escalation(a.id, 1, now);
      notify::enqueue_staff(*notify, kCentre, a.area_code, 0, "appeal_overdue",
                            notify::appeal_overdue_text(a.id, area_name(a.area_code)),
                            "appeal:" + std::to_string(a.id) + ":overdue", now);
      a.escalation_level = 1;
      a.escalated_at = now;
      out.push_back(std::move(a));
    }
  });
  return out;
}

}  // namespace bihuan::resident
