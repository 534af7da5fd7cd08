// bihuan loop import-manifest FILE.csv --port-org CODE --ref CA981 --arrived-at ISO | loop watch --once
// bihuan loop transfer-out | transfer-in | transfer-receipt | trust (跨地区交接, docs/API-loop.md)
// bihuan policy switch NAME (registered on the policy command through add_policy_switch)
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "core/error.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

// The CLI acts as the local administrator (the machine that holds the database), audited as
// cli:USER.
Caller cli_actor() {
  const char* user = std::getenv("USER");
  return Caller::local(std::string("cli:") + (user ? user : "unknown"));
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, "cannot read " + path, "file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void print_alert(const store::AlertRow& a, const char* what) {
  std::cout << what << " alert " << a.id << " order " << a.order_id << " " << a.kind << " (" << a.severity << ") "
            << a.subject << " at " << format_instant(a.raised_at) << " level " << a.escalation_level << "\n";
}

// A public key file: the base64url key on its first line (as PREFIX.pub of the signing key).
std::string read_key(const std::string& path) {
  std::string text = read_all(path);
  auto end = text.find_first_of("\r\n");
  if (end != std::string::npos) text.resize(end);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
  return text;
}

void write_or_print(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text << "\n";
    return;
  }
  std::ofstream out(path, std::ios::binary);
  if (!out) fail(ErrorCode::invalid_argument, "cannot write " + path, "out");
  out << text << "\n";
  if (!out) fail(ErrorCode::internal, "writing " + path + " failed", "out");
}

const bool registered = add_command([](CLI::App& app) {
  auto* cmd = app.add_subcommand("loop", "Closed-loop management: arrival manifests, the lost-from-loop watcher");
  cmd->require_subcommand(1);
  static std::string db = kDefaultDb, policies, file, port_code, ref, arrived_at, kind = "flight", group = "inbound";
  static bool once = false;
  static int interval = 5;

  auto* imp = cmd->add_subcommand("import-manifest", "Import an arrival manifest: persons and inbound orders at the port");
  imp->add_option("FILE", file, "manifest CSV (UTF-8 or GB18030)")->required();
  imp->add_option("--db", db, "database URL")->capture_default_str();
  imp->add_option("--policies", policies, "directory of policy profiles")->capture_default_str();
  imp->add_option("--port-org", port_code, "code of the port organisation")->required();
  imp->add_option("--ref", ref, "flight, ship or vehicle number")->required();
  imp->add_option("--arrived-at", arrived_at, "arrival time, ISO 8601 UTC")->required();
  imp->add_option("--kind", kind, "flight, ship or land")->capture_default_str();
  imp->add_option("--group", group,
                  "arrival group: inbound, high/medium/low_risk_area_arrival, or by_origin (each row's 出发地 decides)")
      ->capture_default_str();
  imp->callback([] {
    auto at = parse_instant(arrived_at);
    if (!at) fail(ErrorCode::invalid_argument, "--arrived-at must be ISO 8601 UTC, got '" + arrived_at + "'", "arrived_at");
    auto repo = store::open_repository(db);
    auto port = repo->org_by_code(port_code);
    if (!port) fail(ErrorCode::not_found, "no organisation with code " + port_code, "port_org");
    loop::Profiles profiles(data_dir(DataDir::policies, policies));
    SystemClock clock;
    loop::Service svc(*repo, profiles, clock);
    loop::ManifestOptions opt{kind, ref, *at, port->id, group};
    auto rep = svc.import_manifest(read_all(file), opt, cli_actor());
    std::cout << "rows " << rep.total_rows << ", accepted " << rep.accepted << ", rejected " << rep.rejected
              << ", orders created " << rep.created_orders;
    if (rep.held) std::cout << ", held (identity conflicts) " << rep.held;
    for (const auto& [g, n] : rep.by_group) std::cout << ", " << g << " " << n;
    if (rep.no_measure) std::cout << ", from no risk area (no order) " << rep.no_measure;
    if (rep.manifest_id) std::cout << ", manifest " << rep.manifest_id;
    std::cout << "\n";
    for (const auto& e : rep.errors)
      std::cerr << "row " << e.row << " " << e.column << " '" << e.value << "': " << e.reason << "\n";
    for (const auto& e : rep.conflicts)
      std::cerr << "row " << e.row << " " << e.column << " '" << e.value << "': " << e.reason << "\n";
    if (rep.rejected > 0) fail(ErrorCode::invalid_argument, "the manifest has rejected rows; nothing was written", "file");
  });

  auto* watch = cmd->add_subcommand("watch", "Run the lost-from-loop watcher and print the alerts it raises");
  watch->add_option("--db", db, "database URL")->capture_default_str();
  watch->add_option("--policies", policies, "directory of policy profiles")->capture_default_str();
  watch->add_flag("--once", once, "one pass, then exit");
  watch->add_option("--interval", interval, "seconds between passes")->capture_default_str()->check(CLI::Range(1, 3600));
  watch->callback([] {
    loop::Profiles profiles(data_dir(DataDir::policies, policies));
    SystemClock clock;
    loop::Watcher w(store::open_repository(db), profiles, clock);
    for (const auto& a : w.load()) print_alert(a, "raised");
    for (;;) {
      auto r = w.tick(clock.now());
      for (const auto& a : r.raised) print_alert(a, "raised");
      for (const auto& a : r.escalated) print_alert(a, "escalated");
      if (once) {
        std::cout << w.pending() << " deadlines pending, " << w.escalating() << " alerts escalating\n";
        return;
      }
      std::cout.flush();
      std::this_thread::sleep_for(std::chrono::seconds(interval));
    }
  });
  // --- handovers between deployments (跨地区交接)
  static std::string key_prefix = "var/code-signing", to_region, note, out, sender_key, name;
  static std::int64_t order_id = 0;
  auto* xo = cmd->add_subcommand("transfer-out", "Hand an order over to another deployment: writes the signed document");
  xo->add_option("--db", db, "database URL")->capture_default_str();
  xo->add_option("--policies", policies, "directory of policy profiles")->capture_default_str();
  xo->add_option("--key", key_prefix, "signing key prefix (PREFIX.secret, PREFIX.pub)")->capture_default_str();
  xo->add_option("--order", order_id, "order id")->required();
  xo->add_option("--to-region", to_region, "area code of the destination region")->required();
  xo->add_option("--note", note, "reason (default: transferred to REGION)");
  xo->add_option("--out", out, "output file (- = stdout)")->required();
  xo->callback([] {
    auto repo = store::open_repository(db);
    loop::Profiles profiles(data_dir(DataDir::policies, policies));
    SystemClock clock;
    loop::Service svc(*repo, profiles, clock);
    loop::CodeSigner signer(key_prefix);
    write_or_print(out, svc.transfer_out(order_id, to_region, note, signer, cli_actor()));
    if (out != "-") std::cout << "order " << order_id << " handed over to " << to_region << ": " << out << "\n";
  });

  auto* xi = cmd->add_subcommand("transfer-in", "Import a signed handover document: creates the order, writes the receipt");
  xi->add_option("FILE", file, "signed bihuan-handover/2 document (bihuan-signed/1 envelope)")->required();
  xi->add_option("--db", db, "database URL")->capture_default_str();
  xi->add_option("--policies", policies, "directory of policy profiles")->capture_default_str();
  xi->add_option("--key", key_prefix, "signing key prefix (PREFIX.secret, PREFIX.pub)")->capture_default_str();
  xi->add_option("--sender-key", sender_key, "the sender's public key file: the document must carry this key (it must also be trusted)");
  xi->add_option("--out", out, "receipt file (- = stdout)")->capture_default_str();
  xi->callback([] {
    const std::string doc = read_all(file);
    if (!sender_key.empty()) {
      const std::string pinned = read_key(sender_key);
      // The envelope names the signing key; the service checks the signature and that the
      // document's sender is that key.
      auto j = nlohmann::json::parse(doc, nullptr, false);
      if (!j.is_object() || j.value("key", "") != pinned)
        fail(ErrorCode::unauthenticated, "the document is not signed with the key in " + sender_key, "sender.public_key");
    }
    auto repo = store::open_repository(db);
    loop::Profiles profiles(data_dir(DataDir::policies, policies));
    SystemClock clock;
    loop::Service svc(*repo, profiles, clock);
    loop::CodeSigner signer(key_prefix);
    auto in = svc.transfer_in(doc, signer, cli_actor());
    write_or_print(out.empty() ? "-" : out, in.receipt);
    std::cerr << "document " << in.document_id << ": order " << in.order_id << ", person " << in.person_id << "\n";
  });

  auto* xr = cmd->add_subcommand("transfer-receipt", "Accept the destination's signed receipt: releases the order here");
  xr->add_option("FILE", file, "signed bihuan-receipt/2 document (bihuan-signed/1 envelope)")->required();
  xr->add_option("--db", db, "database URL")->capture_default_str();
  xr->add_option("--policies", policies, "directory of policy profiles")->capture_default_str();
  xr->callback([] {
    auto repo = store::open_repository(db);
    loop::Profiles profiles(data_dir(DataDir::policies, policies));
    SystemClock clock;
    loop::Service svc(*repo, profiles, clock);
    auto done = svc.accept_receipt(read_all(file), cli_actor());
    std::cout << "order " << done.order_id << " transferred to " << done.region << " (" << done.document_id << ")\n";
  });

  auto* tr = cmd->add_subcommand("trust", "Trust another deployment's public key for transfer documents and receipts");
  tr->add_option("--db", db, "database URL")->capture_default_str();
  tr->add_option("--policies", policies, "directory of policy profiles")->capture_default_str();
  tr->add_option("--name", name, "a name for the deployment")->required();
  tr->add_option("--key", sender_key, "its public key file (PREFIX.pub)")->required();
  tr->callback([] {
    auto repo = store::open_repository(db);
    loop::Profiles profiles(data_dir(DataDir::policies, policies));
    SystemClock clock;
    loop::Service svc(*repo, profiles, clock);
    svc.trust_sender(name, read_key(sender_key), cli_actor());
    std::cout << "trusted " << name << "\n";
  });
});

}  // namespace

void add_policy_switch(CLI::App* policy_cmd) {
  static std::string db = kDefaultDb, policies, name, reason;
  auto* sw = policy_cmd->add_subcommand("switch", "Switch the active profile for new orders (audited)");
  sw->add_option("NAME", name, "profile name")->required();
  sw->add_option("--db", db, "database URL")->capture_default_str();
  sw->add_option("--policies", policies, "directory of policy profiles")->capture_default_str();
  sw->add_option("--reason", reason, "why (recorded in the audit log)")->default_val("switched from the command line");
  sw->callback([] {
    auto repo = store::open_repository(db);
    loop::Profiles profiles(data_dir(DataDir::policies, policies));
    SystemClock clock;
    loop::Service svc(*repo, profiles, clock);
    const std::string old = svc.active_profile();
    svc.switch_profile(name, reason, cli_actor());
    std::cout << "active profile: " << old << " -> " << svc.active_profile() << "\n";
  });
}

}  // namespace bihuan::app
