// What the store steps of `cert trust` share: the run's report, the check that an entry holds
// our CA and not another, and the add/remove of a store that keeps certificates by name.
#include <cstdio>

#include "cli/cert_trust_store.h"
#include "cli/command.h"
#include "pki/certificate_info.h"
#include "pki/loader.h"
#include "util/atomic_file.h"
#include "util/strings.h"

namespace tlsgate::cli::trust {

namespace fs = std::filesystem;

TrustRun::TrustRun(const TrustOptions& o, const X509* ca, std::string pem, std::string name,
                   std::string old_name)
    : o_(o),
      ca_(ca),
      pem_(std::move(pem)),
      name_(std::move(name)),
      old_name_(std::move(old_name)),
      install_(o.action == "install") {}

fs::path TrustRun::root() const { return o_.root.empty() ? fs::path("/") : o_.root; }

int TrustRun::code() const { return failed_ ? kFailed : kOk; }

void TrustRun::say(const std::string& line) const { std::printf("%s\n", line.c_str()); }

void TrustRun::fail(const std::string& step, const std::string& why) {
  failed_ = true;
  report_error(step + ": " + why, kFailed);
}

// Replacing another CA's entry would drop that CA's trust, and removing it would drop trust the
// user did not ask to drop.
void TrustRun::held_by_other(const std::string& step, const std::string& where,
                             const std::string& other) {
  fail(step, where + " holds " + other + ", not " + pki::subject_of(ca_) + " (" + o_.ca.string() +
                 "); left it" +
                 (install_ ? "; choose another --name, or uninstall that CA first"
                           : "; nothing removed"));
}

std::string TrustRun::undo(const std::string& flag) const {
  std::vector<std::string> argv{"tlsgate", "cert", "trust"};
  argv.insert(argv.end(), {install_ ? "uninstall" : "install", "--ca", o_.ca.string(), flag});
  if (!o_.root.empty() && flag != "--nss") argv.insert(argv.end(), {"--root", o_.root.string()});
  if (!o_.name.empty()) argv.insert(argv.end(), {"--name", o_.name});
  return command_line(argv);
}

std::string TrustRun::holds_other(const fs::path& file) const {
  auto certs = pki::load_certificates(file);
  if (!certs) return "no certificate tlsgate can read (" + certs.error().message() + ")";
  return other_than_ours(certs->front().get());
}

std::string TrustRun::other_than_ours(const X509* found) const {
  if (X509_cmp(found, ca_) == 0) return "";
  return "another certificate: " + pki::subject_of(found) + ", SHA-256 " +
         pki::fingerprint_sha256(found);
}

Entry TrustRun::entry(const std::vector<std::string>& argv) const {
  auto r = run_program(argv);
  if (r.code != 0) return {};
  size_t begin = r.output.find("-----BEGIN CERTIFICATE-----");
  auto certs =
      begin == std::string::npos
          ? util::Result<std::vector<pki::X509Ptr>>(util::fail("no PEM"))
          : pki::parse_certificates(std::string_view(r.output).substr(begin), command_line(argv));
  if (!certs || certs->empty()) return {true, "a certificate tlsgate cannot read"};
  return {true, other_than_ours(certs->front().get())};
}

Entry TrustRun::pick(const std::function<Entry(const std::string&)>& lookup,
                     std::string* chosen) const {
  *chosen = name_;
  Entry e = lookup(name_);
  if (install_ || e.present || old_name_.empty()) return e;
  Entry old = lookup(old_name_);
  if (old.present && old.other.empty()) {
    *chosen = old_name_;
    return old;
  }
  return e;
}

void update_named_store(TrustRun& run, const NamedStore& store) {
  const std::string& step = store.step;
  std::string name;
  Entry e = run.pick([&](const std::string& n) { return run.entry(store.show(n)); }, &name);
  if (!e.other.empty())
    return run.held_by_other(step, "\"" + name + "\" in " + store.where, e.other);
  auto run_tool = [&](const std::vector<std::string>& argv) {
    auto r = run_program(argv);
    if (r.code != 0) run.fail(step, command_line(argv) + ": " + std::string(util::trim(r.output)));
    return r.code == 0;
  };
  if (run.installing()) {
    if (e.present) {
      return run.say(step + ": \"" + name + "\" is already in " + store.where +
                     "; nothing changed");
    }
    // The tools read the certificate from a file; it is ours alone while it exists.
    fs::path tmp = store.tmp_dir / (".tlsgate-" + name + ".crt");
    if (auto st = util::write_file_atomic(tmp, run.pem(), 0600); !st) {
      return run.fail(step, st.error().message());
    }
    bool added = run_tool(store.add(name, tmp.string()));
    std::error_code ec;
    fs::remove(tmp, ec);
    if (!added) return;
    run.say(step + ": added \"" + name + "\"" + store.added_note + " to " + store.where +
            "; undo: " + run.undo(store.undo_flag));
  } else {
    if (!e.present) {
      return run.say(step + ": \"" + name + "\" is not in " + store.where + "; nothing to remove");
    }
    if (!run_tool(store.remove(name))) return;
    run.say(step + ": removed \"" + name + "\" from " + store.where +
            "; undo: " + run.undo(store.undo_flag));
  }
}

}  // namespace tlsgate::cli::trust
