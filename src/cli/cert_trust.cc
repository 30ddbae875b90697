// `tlsgate cert trust install|uninstall --ca FILE [--system] [--nss] [--java] [--root DIR]
//  [--name NAME]`: the `mkcert -install` of tlsgate.
//
// Each store is touched only with the flag that names it, and each step
// prints what it changed and the command that undoes it:
//   --system  ROOT/usr/local/share/ca-certificates/NAME.crt, then
//             update-ca-certificates (with --root, its folders all point under
//             ROOT, and ROOT/etc/ssl/certs and ROOT/etc/ca-certificates.conf
//             are created when missing)
//   --nss     $HOME/.pki/nssdb (sql:, created when missing), the database
//             Chromium and NSS tools read: `certutil -A -t C,,` / `certutil -D`
//   --java    ROOT/etc/ssl/certs/java/cacerts (Debian's), password changeit:
//             `keytool -importcert` / `keytool -delete`
// ROOT is "/" unless --root. Each store is asked for by name, so a step whose
// tool or store is missing (update-ca-certificates, certutil, keytool, the
// cacerts file) fails (exit 1) and says what it looked for; a step that fails
// does not stop the others. (An NSS database is created when missing.)
// NAME defaults to the CA's subject CN in lower case with other characters
// than [a-z0-9._-] turned into '-', then '-' and the first 8 hex digits of the
// certificate's SHA-256 fingerprint: CAs with the same CN (every `cert ca`
// without --name is "tlsgate CA") get their own file, alias and nickname. A
// --name must be a plain file name (no '/', not "." or "..", no control
// characters). The system step never replaces or removes a NAME.crt that
// holds another certificate: it says what the file holds and leaves it (exit
// 1); choose another --name, or uninstall that CA first. Without --name,
// uninstall also removes ROOT/.../<CN name>.crt, the file an earlier tlsgate
// wrote, when (and only when) it holds this CA.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli/command.h"
#include "pki/certificate_info.h"
#include "pki/encode.h"
#include "pki/loader.h"
#include "util/atomic_file.h"
#include "util/strings.h"

extern char** environ;

namespace tlsgate::cli {
namespace {

namespace fs = std::filesystem;

struct CertTrustOptions {
  std::string action;
  fs::path ca;
  bool system = false;
  bool nss = false;
  bool java = false;
  fs::path root;
  std::string name;
};

struct Ran {
  int code = -1;
  std::string output;  // stdout and stderr
};

// An environment variable, "" when unset. The CLI reads the environment on its only thread.
std::string env(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): one thread
  return value != nullptr ? value : "";
}

// The program on $PATH (then /usr/sbin and /sbin, where update-ca-certificates lives), or "".
fs::path find_program(const std::string& name) {
  std::string path = env("PATH");
  auto dirs = util::split_list(path, ':');
  dirs.emplace_back("/usr/sbin");
  dirs.emplace_back("/sbin");
  for (const auto& d : dirs) {
    fs::path p = fs::path(d) / name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

// Runs argv (no shell) and collects its output.
Ran run_program(const std::vector<std::string>& argv) {
  Ran r;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    r.output = "cannot create a pipe: " + util::errno_text(errno);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int err = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (err != 0) {
    ::close(fds[0]);
    r.output = "cannot run " + argv[0] + ": " + util::errno_text(err);
    return r;
  }
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) r.output.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string command_line(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t'\"$\\,;&|<>*?()") == std::string::npos;
    out += plain ? a : "'" + a + "'";
  }
  return out;
}

// "" when NAME can be a file name in the store's folder, else what is wrong with it.
std::string name_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name == "." || name == "..") return "is \"" + name + "\"";
  if (name.find('/') != std::string::npos) return "contains '/'";
  if (name.find("..") != std::string::npos) return "contains \"..\"";
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "contains a control character";
  }
  return "";
}

// The first 8 hex digits of the certificate's SHA-256 fingerprint, lower case.
std::string short_fingerprint(const X509* cert) {
  std::string fp = pki::fingerprint_sha256(cert);
  std::string out;
  for (char c : fp) {
    if (c != ':' && out.size() < 8)
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// The CA's CN in lower case, other characters than [a-z0-9._-] turned into '-': the default
// name before the fingerprint was added to it.
std::string cn_name(const X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  std::string cn;
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx >= 0) {
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    cn.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
              static_cast<size_t>(ASN1_STRING_length(s)));
  }
  std::string out;
  for (char c : util::to_lower(cn)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    out += ok ? c : '-';
  }
  return out.empty() ? "tlsgate-ca" : out;
}

std::string default_name(const X509* cert) { return cn_name(cert) + "-" + short_fingerprint(cert); }

class Trust {
 public:
  // OLD_NAME: where an earlier tlsgate put the CA by default ("" with --name).
  Trust(const CertTrustOptions& o, const X509* ca, std::string pem, std::string name,
        std::string old_name)
      : o_(o),
        ca_(ca),
        pem_(std::move(pem)),
        name_(std::move(name)),
        old_name_(std::move(old_name)),
        install_(o.action == "install") {}

  int code() const { return failed_ ? kFailed : kOk; }

  void system() {
    fs::path root = o_.root.empty() ? fs::path("/") : o_.root;
    fs::path local = root / "usr/local/share/ca-certificates";
    fs::path file = local / (name_ + ".crt");
    fs::path etc_certs = root / "etc/ssl/certs";
    fs::path prog = find_program("update-ca-certificates");
    if (prog.empty()) {
      return fail("system",
                  "update-ca-certificates not found on PATH, /usr/sbin or /sbin (Debian package "
                  "ca-certificates)");
    }
    std::error_code ec;
    if (!install_ && !old_name_.empty() && !fs::exists(file, ec)) {
      // Installed by a tlsgate whose default name had no fingerprint: removed only if it is ours.
      fs::path old = local / (old_name_ + ".crt");
      if (fs::exists(old, ec) && holds_other(old).empty()) file = old;
    }
    if (fs::exists(file, ec)) {
      // Another CA's file under this name stays: replacing it would drop that CA's trust, and
      // removing it would drop trust the user did not ask to drop.
      std::string other = holds_other(file);
      if (!other.empty()) {
        return fail("system", file.string() + " holds " + other + ", not " + pki::subject_of(ca_) +
                                  " (" + o_.ca.string() + "); left it" +
                                  (install_ ? "; choose another --name, or uninstall that CA first"
                                            : "; nothing removed"));
      }
    }
    if (install_) {
      fs::create_directories(local, ec);
      if (auto st = util::write_file_atomic(file, pem_, 0644); !st) {
        return fail("system", st.error().message());
      }
    } else if (!fs::exists(file, ec)) {
      return say("system: " + file.string() + " is not there; nothing to remove");
    } else if (!fs::remove(file, ec)) {
      return fail("system", "cannot remove " + file.string() + ": " + ec.message());
    }
    std::vector<std::string> argv{prog.string()};
    if (!o_.root.empty()) {
      // update-ca-certificates cd's into the certs folder (so its paths must be absolute) and
      // reads the config file.
      fs::create_directories(etc_certs, ec);
      fs::path conf = root / "etc/ca-certificates.conf";
      if (!fs::exists(conf, ec)) (void)util::write_file_atomic(conf, "", 0644);
      fs::path abs = fs::absolute(root, ec).lexically_normal();
      argv.insert(argv.end(),
                  {"--certsconf", (abs / "etc/ca-certificates.conf").string(), "--certsdir",
                   (abs / "usr/share/ca-certificates").string(), "--localcertsdir",
                   (abs / "usr/local/share/ca-certificates").string(), "--etccertsdir",
                   (abs / "etc/ssl/certs").string(), "--hooksdir",
                   (abs / "etc/ca-certificates/update.d").string()});
    }
    auto r = run_program(argv);
    if (r.code != 0) {
      return fail("system", command_line(argv) + " exited with " + std::to_string(r.code) + ": " +
                                std::string(util::trim(r.output)));
    }
    fs::path bundle = etc_certs / "ca-certificates.crt";
    if (install_) {
      say("system: added " + file.string() + " and ran update-ca-certificates (bundle " +
          bundle.string() + "); undo: " + undo("--system"));
    } else {
      say("system: removed " + file.string() + " and ran update-ca-certificates (bundle " +
          bundle.string() + "); undo: " + undo("--system"));
    }
  }

  void nss() {
    std::string home = env("HOME");
    if (home.empty()) return fail("nss", "HOME is not set; set it");
    fs::path prog = find_program("certutil");
    if (prog.empty()) {
      return fail("nss", "certutil not found on PATH (Debian package libnss3-tools)");
    }
    fs::path dir = fs::path(home) / ".pki/nssdb";
    std::string db = "sql:" + dir.string();
    std::error_code ec;
    if (!fs::exists(dir / "cert9.db", ec)) {
      if (!install_) return say("nss: no NSS database in " + dir.string() + "; nothing to remove");
      fs::create_directories(dir, ec);
      fs::permissions(dir, fs::perms::owner_all, ec);
      auto r = run_program({prog.string(), "-N", "-d", db, "--empty-password"});
      if (r.code != 0) return fail("nss", "certutil -N -d " + db + ": " + r.output);
      say("nss: created the NSS database " + dir.string());
    }
    auto lookup = [&](const std::string& n) {
      return entry({prog.string(), "-L", "-d", db, "-n", n, "-a"});
    };
    std::string name = name_;
    Entry e = pick(lookup, name);
    if (!e.other.empty()) return held_by_other("nss", "\"" + name + "\" in " + db, e.other);
    bool present = e.present;
    if (install_) {
      if (present) return say("nss: \"" + name + "\" is already in " + db + "; nothing changed");
      fs::path tmp = dir / (".tlsgate-" + name + ".crt");
      if (auto st = util::write_file_atomic(tmp, pem_, 0600); !st) {
        return fail("nss", st.error().message());
      }
      std::vector<std::string> argv{prog.string(), "-A", "-d", db,   "-t",
                                    "C,,",         "-n", name, "-i", tmp.string()};
      auto r = run_program(argv);
      fs::remove(tmp, ec);
      if (r.code != 0)
        return fail("nss", command_line(argv) + ": " + std::string(util::trim(r.output)));
      say("nss: added \"" + name + "\" (trusted for TLS servers, C,,) to " + db +
          "; undo: " + undo("--nss"));
    } else {
      if (!present) return say("nss: \"" + name + "\" is not in " + db + "; nothing to remove");
      std::vector<std::string> argv{prog.string(), "-D", "-d", db, "-n", name};
      auto r = run_program(argv);
      if (r.code != 0)
        return fail("nss", command_line(argv) + ": " + std::string(util::trim(r.output)));
      say("nss: removed \"" + name + "\" from " + db + "; undo: " + undo("--nss"));
    }
  }

  void java() {
    fs::path root = o_.root.empty() ? fs::path("/") : o_.root;
    fs::path cacerts = root / "etc/ssl/certs/java/cacerts";
    fs::path prog = find_program("keytool");
    if (prog.empty()) {
      return fail("java", "keytool not found on PATH (Debian package default-jre-headless)");
    }
    std::error_code ec;
    if (!fs::exists(cacerts, ec)) {
      return fail("java", "no Java trust store at " + cacerts.string() +
                              " (Debian package ca-certificates-java); nothing changed");
    }
    std::string name = name_;
    auto base_for = [&](const std::string& n) {
      return std::vector<std::string>{
          prog.string(), "-keystore", cacerts.string(), "-storepass", "changeit", "-alias", n};
    };
    auto with = [&](std::vector<std::string> argv, std::initializer_list<std::string> more) {
      argv.insert(argv.begin() + 1, more);
      return argv;
    };
    auto lookup = [&](const std::string& n) {
      return entry(with(base_for(n), {"-exportcert", "-rfc"}));
    };
    Entry e = pick(lookup, name);
    if (!e.other.empty()) {
      return held_by_other("java", "\"" + name + "\" in " + cacerts.string(), e.other);
    }
    bool present = e.present;
    std::vector<std::string> base = base_for(name);
    if (install_) {
      if (present) {
        return say("java: \"" + name + "\" is already in " + cacerts.string() +
                   "; nothing changed");
      }
      fs::path tmp = cacerts.parent_path() / (".tlsgate-" + name + ".crt");
      if (auto st = util::write_file_atomic(tmp, pem_, 0600); !st) {
        return fail("java", st.error().message());
      }
      auto argv = with(base, {"-importcert", "-noprompt", "-file", tmp.string()});
      auto r = run_program(argv);
      fs::remove(tmp, ec);
      if (r.code != 0)
        return fail("java", command_line(argv) + ": " + std::string(util::trim(r.output)));
      say("java: added \"" + name + "\" to " + cacerts.string() + "; undo: " + undo("--java"));
    } else {
      if (!present) {
        return say("java: \"" + name + "\" is not in " + cacerts.string() + "; nothing to remove");
      }
      auto argv = with(base, {"-delete"});
      auto r = run_program(argv);
      if (r.code != 0)
        return fail("java", command_line(argv) + ": " + std::string(util::trim(r.output)));
      say("java: removed \"" + name + "\" from " + cacerts.string() + "; undo: " + undo("--java"));
    }
  }

 private:
  std::string undo(const std::string& flag) const {
    std::vector<std::string> argv{"tlsgate", "cert", "trust"};
    argv.insert(argv.end(), {install_ ? "uninstall" : "install", "--ca", o_.ca.string(), flag});
    if (!o_.root.empty() && flag != "--nss") argv.insert(argv.end(), {"--root", o_.root.string()});
    if (!o_.name.empty()) argv.insert(argv.end(), {"--name", o_.name});
    return command_line(argv);
  }
  // "" when FILE holds our CA's certificate, else what it holds instead.
  std::string holds_other(const fs::path& file) const {
    auto certs = pki::load_certificates(file);
    if (!certs) return "no certificate tlsgate can read (" + certs.error().message() + ")";
    return other_than_ours(certs->front().get());
  }
  std::string other_than_ours(const X509* found) const {
    if (X509_cmp(found, ca_) == 0) return "";
    return "another certificate: " + pki::subject_of(found) + ", SHA-256 " +
           pki::fingerprint_sha256(found);
  }

  // An NSS or Java entry: whether it is there and, when it holds another certificate, which.
  struct Entry {
    bool present = false;
    std::string other;
  };
  // Runs a command that prints the entry's certificate as PEM (certutil -a, keytool -rfc).
  Entry entry(const std::vector<std::string>& argv) const {
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
  // The entry under NAME; on uninstall without --name, when there is none, the entry under the
  // CN-only name an earlier tlsgate used if it holds this CA (NAME becomes that name).
  template <typename Lookup>
  Entry pick(Lookup lookup, std::string& name) const {
    Entry e = lookup(name);
    if (install_ || e.present || old_name_.empty()) return e;
    Entry old = lookup(old_name_);
    if (old.present && old.other.empty()) {
      name = old_name_;
      return old;
    }
    return e;
  }
  void held_by_other(const std::string& step, const std::string& where, const std::string& other) {
    fail(step, where + " holds " + other + ", not " + pki::subject_of(ca_) + " (" + o_.ca.string() +
                   "); left it" +
                   (install_ ? "; choose another --name, or uninstall that CA first"
                             : "; nothing removed"));
  }
  void say(const std::string& line) { std::printf("%s\n", line.c_str()); }
  void fail(const std::string& step, const std::string& why) {
    failed_ = true;
    report_error(step + ": " + why, kFailed);
  }

  const CertTrustOptions& o_;
  const X509* ca_;
  std::string pem_;
  std::string name_;
  std::string old_name_;
  bool install_;
  bool failed_ = false;
};

int run_trust(const CertTrustOptions& o) {
  if (!o.system && !o.nss && !o.java) {
    return report_error("name the stores to " + o.action + ": --system, --nss and/or --java",
                        kUsage);
  }
  if (!o.name.empty()) {
    if (std::string why = name_problem(o.name); !why.empty()) {
      return report_error("--name \"" + o.name + "\" " + why +
                              "; give a plain file name such as my-ca (it becomes NAME.crt, the "
                              "NSS nickname and the Java alias)",
                          kUsage);
    }
  }
  auto certs = pki::load_certificates(o.ca);
  if (!certs) return report_error(certs.error().message(), kFailed);
  const X509* ca = certs->front().get();
  if (X509_check_ca(pki::unconst(ca)) == 0) {
    return report_error(o.ca.string() + ": " + pki::subject_of(ca) +
                            " is not a CA certificate; give the CA's certificate (ca.crt)",
                        kFailed);
  }
  auto pem = pki::certificate_pem(ca);
  if (!pem) return report_error(pem.error().message(), kFailed);
  Trust trust(o, ca, *pem, o.name.empty() ? default_name(ca) : o.name,
              o.name.empty() ? cn_name(ca) : "");
  if (o.system) trust.system();
  if (o.nss) trust.nss();
  if (o.java) trust.java();
  return trust.code();
}

}  // namespace

void add_cert_trust(CLI::App& cert, Outcome& out) {
  auto opts = std::make_shared<CertTrustOptions>();
  auto* cmd = cert.add_subcommand(
      "trust",
      "Install a CA into (or remove it from) the system, NSS (Chromium) and Java trust "
      "stores");
  cmd->add_option("action", opts->action, "install or uninstall")
      ->required()
      ->check(CLI::IsMember({"install", "uninstall"}));
  cmd->add_option("--ca", opts->ca, "The CA certificate (ca.crt)")->required();
  cmd->add_flag(
      "--system", opts->system,
      "The Debian system store (/usr/local/share/ca-certificates, update-ca-certificates)");
  cmd->add_flag("--nss", opts->nss,
                "The NSS database in $HOME/.pki/nssdb (Chromium), via certutil");
  cmd->add_flag("--java", opts->java, "Java's cacerts (/etc/ssl/certs/java/cacerts), via keytool");
  cmd->add_option("--root", opts->root,
                  "Act on the system and Java stores under this folder instead of / (tests, "
                  "images)");
  cmd->add_option("--name", opts->name,
                  "Name of the entry (file name, nickname and alias; a plain file name); "
                  "default: the CA's CN, lower case, and a short SHA-256 fingerprint");
  cmd->callback([opts, &out] { out.code = run_trust(*opts); });
}

}  // namespace tlsgate::cli
