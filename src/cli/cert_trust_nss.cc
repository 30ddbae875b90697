// `cert trust --nss`: $HOME/.pki/nssdb (sql:, created when missing), the database Chromium and
// the NSS tools read, changed with certutil: `-A -t C,,` (trusted to issue TLS server
// certificates) and `-D`.
#include "cli/cert_trust_store.h"

namespace tlsgate::cli::trust {

namespace fs = std::filesystem;

void update_nss(TrustRun& run) {
  std::string home = env("HOME");
  if (home.empty()) return run.fail("nss", "HOME is not set; set it");
  fs::path prog = find_program("certutil");
  if (prog.empty()) {
    return run.fail("nss", "certutil not found on PATH (Debian package libnss3-tools)");
  }
  fs::path dir = fs::path(home) / ".pki/nssdb";
  std::string db = "sql:" + dir.string();
  std::error_code ec;
  if (!fs::exists(dir / "cert9.db", ec)) {
    if (!run.installing()) {
      return run.say("nss: no NSS database in " + dir.string() + "; nothing to remove");
    }
    fs::create_directories(dir, ec);
    fs::permissions(dir, fs::perms::owner_all, ec);
    auto r = run_program({prog.string(), "-N", "-d", db, "--empty-password"});
    if (r.code != 0) return run.fail("nss", "certutil -N -d " + db + ": " + r.output);
    run.say("nss: created the NSS database " + dir.string());
  }
  const std::string certutil = prog.string();
  NamedStore store;
  store.step = "nss";
  store.where = db;
  store.tmp_dir = dir;
  store.added_note = " (trusted for TLS servers, C,,)";
  store.undo_flag = "--nss";
  store.show = [=](const std::string& n) {
    return std::vector<std::string>{certutil, "-L", "-d", db, "-n", n, "-a"};
  };
  store.add = [=](const std::string& n, const std::string& file) {
    return std::vector<std::string>{certutil, "-A", "-d", db, "-t", "C,,", "-n", n, "-i", file};
  };
  store.remove = [=](const std::string& n) {
    return std::vector<std::string>{certutil, "-D", "-d", db, "-n", n};
  };
  update_named_store(run, store);
}

}  // namespace tlsgate::cli::trust
