// `cert trust --system`: ROOT/usr/local/share/ca-certificates/NAME.crt, then
// update-ca-certificates. With --root its folders all point under ROOT, and ROOT/etc/ssl/certs
// and ROOT/etc/ca-certificates.conf are created when missing.
#include "cli/cert_trust_store.h"
#include "util/atomic_file.h"
#include "util/strings.h"

namespace tlsgate::cli::trust {

namespace fs = std::filesystem;

void update_system(TrustRun& run) {
  const fs::path root = run.root();
  const bool install = run.installing();
  fs::path local = root / "usr/local/share/ca-certificates";
  fs::path file = local / (run.name() + ".crt");
  fs::path etc_certs = root / "etc/ssl/certs";
  fs::path prog = find_program("update-ca-certificates");
  if (prog.empty()) {
    return run.fail("system",
                    "update-ca-certificates not found on PATH, /usr/sbin or /sbin (Debian "
                    "package ca-certificates)");
  }
  std::error_code ec;
  if (!install && !run.old_name().empty() && !fs::exists(file, ec)) {
    // Installed by a tlsgate whose default name had no fingerprint: removed only if it is ours.
    fs::path old = local / (run.old_name() + ".crt");
    if (fs::exists(old, ec) && run.holds_other(old).empty()) file = old;
  }
  if (fs::exists(file, ec)) {
    std::string other = run.holds_other(file);
    if (!other.empty()) return run.held_by_other("system", file.string(), other);
  }
  if (install) {
    fs::create_directories(local, ec);
    if (auto st = util::write_file_atomic(file, run.pem(), 0644); !st) {
      return run.fail("system", st.error().message());
    }
  } else if (!fs::exists(file, ec)) {
    return run.say("system: " + file.string() + " is not there; nothing to remove");
  } else if (!fs::remove(file, ec)) {
    return run.fail("system", "cannot remove " + file.string() + ": " + ec.message());
  }
  std::vector<std::string> argv{prog.string()};
  if (!run.options().root.empty()) {
    // update-ca-certificates cd's into the certs folder (so its paths must be absolute) and
    // reads the config file.
    fs::create_directories(etc_certs, ec);
    fs::path conf = root / "etc/ca-certificates.conf";
    if (!fs::exists(conf, ec)) (void)util::write_file_atomic(conf, "", 0644);
    fs::path abs = fs::absolute(root, ec).lexically_normal();
    argv.insert(argv.end(), {"--certsconf", (abs / "etc/ca-certificates.conf").string(),
                             "--certsdir", (abs / "usr/share/ca-certificates").string(),
                             "--localcertsdir", (abs / "usr/local/share/ca-certificates").string(),
                             "--etccertsdir", (abs / "etc/ssl/certs").string(), "--hooksdir",
                             (abs / "etc/ca-certificates/update.d").string()});
  }
  auto r = run_program(argv);
  if (r.code != 0) {
    return run.fail("system", command_line(argv) + " exited with " + std::to_string(r.code) + ": " +
                                  std::string(util::trim(r.output)));
  }
  run.say(std::string("system: ") + (install ? "added " : "removed ") + file.string() +
          " and ran update-ca-certificates (bundle " +
          (etc_certs / "ca-certificates.crt").string() + "); undo: " + run.undo("--system"));
}

}  // namespace tlsgate::cli::trust
