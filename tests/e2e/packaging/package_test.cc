// `make deb`'s package, built by cpack from the build under test into a temp
// folder: its files (dpkg-deb -c), its maintainer scripts, the binary run
// out of the extracted tree (version, check on the shipped example and the
// per-database examples with certificates minted here), the unit
// (systemd-analyze verify), the man pages (man -l) and the completion; and
// a real dpkg install and purge inside a throw-away mount namespace whose
// /usr, /etc and /var are overlays, so the machine itself is never changed.
#include <unistd.h>

#include <gtest/gtest.h>

#include "config/key_docs.h"
#include "support/gate_process.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace tlsgate::e2e {
namespace {

namespace fs = std::filesystem;
using test::q;

class Package : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bin = test::GateProcess::binary();
    ASSERT_FALSE(bin.empty()) << "TLSGATE_BIN is not set (run through ctest)";
    auto cpack_config = fs::path(bin).parent_path() / "CPackConfig.cmake";
    ASSERT_TRUE(fs::exists(cpack_config)) << cpack_config;
    auto built =
        test::run_shell("cpack -G DEB -B " + q(tmp_ / "out") + " --config " + q(cpack_config));
    ASSERT_EQ(built.code, 0) << built.out << built.err;
    for (const auto& e : fs::directory_iterator(tmp_ / "out")) {
      if (e.path().extension() == ".deb") deb_ = e.path();
    }
    ASSERT_FALSE(deb_.empty()) << built.out;
    root_ = tmp_ / "root";
    auto x = sh("dpkg-deb -x " + q(deb_) + " " + q(root_) + " && dpkg-deb -e " + q(deb_) + " " +
                q(tmp_ / "control"));
    ASSERT_EQ(x.code, 0) << x.out << x.err;
    tlsgate_ = root_ / "usr/bin/tlsgate";
  }

  static test::CommandResult sh(const std::string& cmd) { return test::run_shell(cmd); }

  // Certificates for `scope` under the extracted /etc/tlsgate, issued by a
  // CA made here with the packaged binary.
  void install_certificates(const std::string& scope) {
    if (!fs::exists(tmp_ / "ca" / "ca.crt")) {
      ASSERT_EQ(sh(q(tlsgate_) + " cert ca --out " + q(tmp_ / "ca")).code, 0);
      ASSERT_EQ(sh(q(tlsgate_) + " cert issue --ca " + q(tmp_ / "ca") + " --out " +
                   q(tmp_ / "leaf") + " localhost 127.0.0.1")
                    .code,
                0);
    }
    auto r = sh(q(tlsgate_) + " cert install --scope " + scope + " --base " +
                q(root_ / "etc/tlsgate") + " --cert " + q(tmp_ / "leaf/public.crt") + " --key " +
                q(tmp_ / "leaf/private.key") + " --ca " + q(tmp_ / "ca/ca.crt"));
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }

  // examples/FILE.conf, copied beside the shipped config as an operator
  // would, checks clean once policy `scope` has certificates.
  void check_example(const std::string& file, const std::string& scope) {
    install_certificates(scope);
    auto conf = root_ / "etc/tlsgate" / (file + ".conf");
    fs::copy_file(root_ / "usr/share/doc/tlsgate/examples" / (file + ".conf"), conf);
    auto r = sh(q(tlsgate_) + " check -c " + q(conf));
    EXPECT_EQ(r.code, 0) << file << ":\n" << r.out << r.err;
    EXPECT_NE(r.out.find("(" + scope + ") checked: 0 problems"), std::string::npos) << r.out;
  }

  test::TempDir tmp_;
  fs::path deb_, root_, tlsgate_;
};

TEST_F(Package, ShipsTheFilesAndMaintainerScripts) {
  auto list = sh("dpkg-deb -c " + q(deb_));
  ASSERT_EQ(list.code, 0) << list.err;
  // Debian's own checker, as `make deb` runs it: no error.
  auto lint = sh("timeout 300 lintian --fail-on error " + q(deb_));
  EXPECT_EQ(lint.code, 0) << lint.out << lint.err;
  for (const char* f :
       {"./usr/bin/tlsgate", "./etc/tlsgate/tlsgate.conf", "./var/lib/tlsgate/",
        "./lib/systemd/system/tlsgate.service", "./usr/share/man/man1/tlsgate.1.gz",
        "./usr/share/man/man5/tlsgate.conf.5.gz", "./usr/share/bash-completion/completions/tlsgate",
        "./usr/share/zsh/vendor-completions/_tlsgate", "./usr/share/doc/tlsgate/copyright",
        "./usr/share/doc/tlsgate/examples/postgresql.conf"}) {
    EXPECT_NE(list.out.find(std::string(" ") + f + "\n"), std::string::npos) << f << "\n"
                                                                             << list.out;
  }
  EXPECT_EQ(list.out.find("/usr/local/"), std::string::npos) << list.out;
  auto bin_line_end = list.out.find(" ./usr/bin/tlsgate\n");
  ASSERT_NE(bin_line_end, std::string::npos);
  auto bin_line = list.out.substr(list.out.rfind('\n', bin_line_end) + 1);
  EXPECT_EQ(bin_line.rfind("-rwxr-xr-x root/root", 0), 0u) << bin_line;

  auto control = test::read_text(tmp_ / "control/control");
  EXPECT_NE(control.find("Package: tlsgate\n"), std::string::npos) << control;
  EXPECT_NE(control.find("libssl3"), std::string::npos) << control;  // from dpkg-shlibdeps
  EXPECT_NE(control.find("adduser"), std::string::npos) << control;
  EXPECT_EQ(test::read_text(tmp_ / "control/conffiles"), "/etc/tlsgate/tlsgate.conf\n");

  auto postinst = test::read_text(tmp_ / "control/postinst");
  EXPECT_NE(postinst.find("adduser --system --group"), std::string::npos) << postinst;
  EXPECT_NE(postinst.find("install -d -o tlsgate -g tlsgate -m 0750 /var/lib/tlsgate"),
            std::string::npos);
  EXPECT_NE(test::read_text(tmp_ / "control/postrm").find("rm -rf /var/lib/tlsgate"),
            std::string::npos);
  for (const char* s : {"postinst", "prerm", "postrm"}) {
    auto p = tmp_ / "control" / s;
    EXPECT_EQ(sh("sh -n " + q(p)).code, 0) << s;
    EXPECT_NE(fs::status(p).permissions() & fs::perms::owner_exec, fs::perms::none) << s;
  }
  // The installed unit runs the gate unprivileged, notifying, hardened.
  auto unit = test::read_text(root_ / "lib/systemd/system/tlsgate.service");
  for (const char* line :
       {"Type=notify\n", "User=tlsgate\n", "ExecReload=/bin/kill -HUP $MAINPID\n",
        "ProtectSystem=strict\n", "ReadWritePaths=/var/lib/tlsgate -/etc/tlsgate/certificates\n",
        "NoNewPrivileges=true\n", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE\n", "PrivateTmp=true\n", "WatchdogSec="}) {
    EXPECT_NE(unit.find(line), std::string::npos) << line;
  }
}

TEST_F(Package, ExtractedBinaryRunsAndTheShippedExampleChecksClean) {
  auto version = sh(q(tlsgate_) + " version");
  ASSERT_EQ(version.code, 0) << version.err;
  EXPECT_EQ(version.out.rfind("tlsgate " TLSGATE_TEST_VERSION " (git ", 0), 0u) << version.out;
  EXPECT_NE(version.out.find(")\nOpenSSL 3."), std::string::npos) << version.out;

  auto conf = root_ / "etc/tlsgate/tlsgate.conf";
  auto before = sh(q(tlsgate_) + " check -c " + q(conf));
  EXPECT_EQ(before.code, 1) << "check passed without certificates:\n" << before.out << before.err;
  install_certificates("app");
  auto after = sh(q(tlsgate_) + " check -c " + q(conf));
  EXPECT_EQ(after.code, 0) << after.out << after.err;
  EXPECT_NE(after.out.find("1 policy (app) checked: 0 problems"), std::string::npos) << after.out;
}

TEST_F(Package, EachDatabaseExampleChecksCleanWithItsCertificates) {
  for (auto [file, scope] : std::vector<std::pair<std::string, std::string>>{
           {"postgresql", "postgres"}, {"mysql", "mysql"}, {"redis", "redis"}, {"neo4j", "bolt"}}) {
    check_example(file, scope);
  }
}

TEST_F(Package, NatsExampleChecksCleanWithItsCertificates) { check_example("nats", "nats"); }

TEST_F(Package, UnitVerifiesManPagesRenderAndNameEveryKey) {
  // The unit, pointed at the extracted binary (systemd-analyze checks the
  // ExecStart= file exists); --man=no: the pages are checked below.
  auto unit = test::read_text(root_ / "lib/systemd/system/tlsgate.service");
  std::string from = "/usr/bin/tlsgate";
  for (size_t at = unit.find(from); at != std::string::npos; at = unit.find(from, at + 1)) {
    unit.replace(at, from.size(), tlsgate_.string());
    at += tlsgate_.string().size() - 1;
  }
  test::write_text(tmp_ / "tlsgate.service", unit, 0644);
  auto verify = sh("systemd-analyze verify --man=no " + q(tmp_ / "tlsgate.service"));
  EXPECT_EQ(verify.code, 0) << verify.out << verify.err;
  EXPECT_EQ(verify.err, "");
  // The socket-activation example, beside the unit it activates.
  fs::copy_file(root_ / "usr/share/doc/tlsgate/examples/tlsgate.socket", tmp_ / "tlsgate.socket");
  auto socket = sh("systemd-analyze verify --man=no " + q(tmp_ / "tlsgate.socket"));
  EXPECT_EQ(socket.code, 0) << socket.out << socket.err;
  EXPECT_EQ(socket.err, "");

  auto man = [&](const std::string& page) {
    return sh("MANWIDTH=250 man --warnings -l " + q(root_ / "usr/share/man" / page));
  };
  auto conf5 = man("man5/tlsgate.conf.5.gz");
  ASSERT_EQ(conf5.code, 0) << conf5.err;
  EXPECT_EQ(conf5.err, "") << "groff warnings";
  for (const auto& d : config::key_docs()) {
    EXPECT_NE(conf5.out.find(d.pattern), std::string::npos) << d.pattern;
  }
  auto one = man("man1/tlsgate.1.gz");
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(one.err, "") << "groff warnings";
  for (const char* s : {"tlsgate serve", "tlsgate cert issue", "tlsgate probe", "--allow-root",
                        "--explain", "tlsgate.conf(5)"}) {
    EXPECT_NE(one.out.find(s), std::string::npos) << s;
  }
  EXPECT_EQ(one.out.find("manual"), std::string::npos) << "the hidden verb is documented";
}

TEST_F(Package, BashCompletesVerbsOptionsAndKeys) {
  auto complete = [&](const std::string& words, int cword) {
    return sh("bash -c " + test::shell_quote(
                               ". " + q(root_ / "usr/share/bash-completion/completions/tlsgate") +
                               "; COMP_WORDS=(" + words + "); COMP_CWORD=" + std::to_string(cword) +
                               "; _tlsgate; echo \"${COMPREPLY[*]}\""))
        .out;
  };
  EXPECT_EQ(complete("tlsgate cert is", 2), "issue\n");
  EXPECT_EQ(complete("tlsgate serve --allow", 2), "--allow-root\n");
  EXPECT_EQ(complete("tlsgate check --explain server.log_f", 3), "server.log_format\n");
}

// The zsh function parses (zsh -n), compinit registers it from its #compdef
// line, and run with stand-ins for zsh's completion builtins it offers the
// verbs of the command typed so far and the keys after --explain.
TEST_F(Package, ZshCompletionLoadsAndCompletesVerbsOptionsAndKeys) {
  ASSERT_EQ(sh("command -v zsh").code, 0)
      << "zsh is not installed: run scripts/install-deps.sh test";
  auto dir = root_ / "usr/share/zsh/vendor-completions";
  auto parse = sh("zsh -n " + q(dir / "_tlsgate"));
  ASSERT_EQ(parse.code, 0) << parse.out << parse.err;

  // compinit removes its dump file: never let it be /dev/null (as root it
  // would delete the device, and the next redirection makes a plain file).
  auto complete = [&](const std::string& words, int current) {
    std::string script =
        "fpath=(" + q(dir) + " $fpath); autoload -Uz compinit && compinit -u -D -d " +
        q(tmp_ / "zcompdump") +
        " || exit 3; "
        "[[ ${_comps[tlsgate]} == _tlsgate ]] || { print -r -- \"_comps: ${_comps[tlsgate]}\"; "
        "exit 4; }; "
        "_describe() { print -rl -- \"${(@P)4}\"; }; "
        "compadd() { print -rl -- \"${(@P)2}\"; }; _files() { print FILES; }; "
        "words=(" +
        words + "); CURRENT=" + std::to_string(current) + "; _tlsgate";
    return sh("timeout 20 zsh -f -c " + test::shell_quote(script));
  };
  auto cert = complete("tlsgate cert ''", 3);
  ASSERT_EQ(cert.code, 0) << cert.out << cert.err;
  EXPECT_EQ(cert.err, "");
  EXPECT_NE(cert.out.find("\nissue:"), std::string::npos) << cert.out;
  EXPECT_EQ(cert.out.find("\nserve:"), std::string::npos) << cert.out;
  auto serve = complete("tlsgate serve ''", 3);
  EXPECT_NE(serve.out.find("\n--allow-root:"), std::string::npos) << serve.out << serve.err;
  auto keys = complete("tlsgate check --explain ''", 4);
  EXPECT_NE(keys.out.find("\nserver.log_format\n"), std::string::npos) << keys.out << keys.err;
  EXPECT_NE(keys.out.find("\nssl.policy.<scope>.client_auth\n"), std::string::npos) << keys.out;
  EXPECT_EQ(complete("tlsgate check -c ''", 4).out, "FILES\n");
}

// dpkg -i, then dpkg --purge, as an operator would, in a mount namespace
// where /usr, /etc and /var are overlays on tmpfs-backed upper folders of
// this test: the maintainer scripts run for real (the tlsgate user, the
// state folder, modes) and everything vanishes with the namespace.
TEST_F(Package, InstallsAndPurgesCleanly) {
  ASSERT_EQ(::geteuid(), 0u) << "dpkg needs root (CI runs as root)";
  const auto layers = tmp_ / "layers";
  fs::create_directories(layers);
  const std::string script = R"SH(set -e
dirs="usr etc var"
[ -L /lib ] || dirs="$dirs lib"  # a system without the /usr merge: /lib too
for d in $dirs; do
  mkdir -p "$L/$d.up" "$L/$d.work"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$L/$d.up,workdir=$L/$d.work" "/$d"
done
dpkg -i "$DEB" >/dev/null
echo "version: $(/usr/bin/tlsgate version | head -1)"
echo "user: $(getent passwd tlsgate | cut -d: -f1,7)"
echo "state: $(stat -c '%U:%G %a' /var/lib/tlsgate)"
echo "etc: $(stat -c '%U:%G %a' /etc/tlsgate) conf: $(stat -c '%G %a' /etc/tlsgate/tlsgate.conf)"
test -f /lib/systemd/system/tlsgate.service && echo "unit: yes"
test -f /usr/share/man/man5/tlsgate.conf.5.gz && echo "man5: yes"
dpkg --purge tlsgate >/dev/null
echo "after purge: $(dpkg-query -W -f='${Status}' tlsgate 2>/dev/null || echo gone)"
for f in /usr/bin/tlsgate /etc/tlsgate /var/lib/tlsgate /lib/systemd/system/tlsgate.service
do
  test -e "$f" && echo "left: $f"
done
echo done
)SH";
  test::write_text(tmp_ / "install.sh", script);
  auto r = sh("L=" + q(layers) + " DEB=" + q(deb_) +
              " timeout 120 unshare --mount --propagation private sh " + q(tmp_ / "install.sh"));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("version: tlsgate " TLSGATE_TEST_VERSION), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("user: tlsgate:/usr/sbin/nologin"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("state: tlsgate:tlsgate 750"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("etc: root:tlsgate 750 conf: tlsgate 640"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unit: yes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("man5: yes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("after purge: gone"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("left: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("done"), std::string::npos) << r.out;
  // And the machine itself never saw it.
  EXPECT_NE(sh("dpkg-query -W tlsgate").code, 0) << "tlsgate is installed on the machine";
}

}  // namespace
}  // namespace tlsgate::e2e
