// The dashboard in a real browser (issue 14): Debian's chromium, headless,
// against `tlsgate serve` with the admin listener on.
//
// How the browser gets in, and why this way:
// - Trust: the test CA goes into the NSS database chromium reads on Linux,
//   $HOME/.pki/nssdb (HOME is a temp folder), as a trusted issuer of server
//   certificates (`certutil -A -t "C,,"`). No --ignore-certificate-errors:
//   the admin listener's certificate is verified as an operator's would be.
// - The client certificate: `ops` (PKCS#12 made by openssl) is imported into
//   the same database with `pk12util`, and chromium presents it without a
//   prompt because the AutoSelectCertificateForUrls policy names the admin
//   URL. Headless chromium cannot answer a certificate prompt; without the
//   policy the page never loads.
// - The policy: Debian's chromium reads managed policies only from
//   /etc/chromium/policies/managed; no switch or environment variable of a
//   release build points it elsewhere. A test must not leave files in /etc,
//   so chromium runs in a private mount namespace (`unshare --mount`, whose
//   propagation is private by default) where a temp folder is bind-mounted
//   over /etc/chromium (which the package creates; policies/ it does not, and
//   a bind mount needs an existing mount point), holding a copy of its files
//   and the policy. Only that process tree sees it, and it is gone when
//   chromium exits, even if the test is killed. This needs root (CI runs
//   tests as root); otherwise a user namespace is asked for too
//   (`unshare --map-root-user`).
// - Driving it: `--dump-dom` with `--virtual-time-budget`: chromium loads the
//   page, runs its script until the budget of virtual time is spent (network
//   fetches stop the virtual clock, so the API answers are in), and prints
//   the DOM. The page marks what the test reads with ids and data-
//   attributes (data-state="ready" once the data is in; a row per
//   certificate with data-subject and data-days-left; the chart's
//   data-total-failures and a legend item per reason). A screenshot of the
//   last state goes to the build folder (printed; never in git).
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pki/certificate_info.h"
#include "support/echo_server.h"
#include "support/gate_test.h"
#include "support/loopback.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "util/clock.h"

namespace tlsgate::e2e::admin {
namespace {

namespace fs = std::filesystem;
using test::Millis;
using test::q;
using test::shell_quote;

// ---- reading the DOM chromium printed ----------------------------------------

std::string unescape_html(std::string s) {
  static const std::vector<std::pair<std::string, std::string>> kEntities = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : kEntities) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
      s.replace(at, from.size(), to);
    }
  }
  return s;
}

// One element found in the DOM: its attributes and the markup inside it
// (up to the next element with the same tag name closing, enough for rows
// and list items, which do not nest).
struct Element {
  std::map<std::string, std::string> attrs;
  std::string inner;
  std::string attr(const std::string& name) const {
    auto it = attrs.find(name);
    return it == attrs.end() ? std::string() : it->second;
  }
  bool has(const std::string& name) const { return attrs.count(name) != 0; }
};

// Every <tag ...> whose class attribute contains the word `cls`, or whose id
// is `id` when cls is empty.
std::vector<Element> find_elements(const std::string& dom, const std::string& tag,
                                   const std::string& cls, const std::string& id = "") {
  std::vector<Element> found;
  static const std::regex kAttr(R"re(([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?)re");
  const std::string open = "<" + tag;
  for (size_t at = dom.find(open); at != std::string::npos; at = dom.find(open, at + 1)) {
    const char next = dom[at + open.size()];
    if (next != ' ' && next != '>') continue;
    const size_t end = dom.find('>', at);
    if (end == std::string::npos) break;
    Element e;
    const std::string head = dom.substr(at + open.size(), end - at - open.size());
    for (std::sregex_iterator m(head.begin(), head.end(), kAttr), last; m != last; ++m) {
      e.attrs[(*m)[1]] = unescape_html((*m)[2]);
    }
    if (!cls.empty()) {
      const std::string classes = " " + e.attr("class") + " ";
      if (classes.find(" " + cls + " ") == std::string::npos) continue;
    } else if (e.attr("id") != id) {
      continue;
    }
    const size_t close = dom.find("</" + tag + ">", end);
    e.inner = dom.substr(end + 1, close == std::string::npos ? 0 : close - end - 1);
    found.push_back(std::move(e));
  }
  return found;
}

std::optional<Element> by_id(const std::string& dom, const std::string& tag,
                             const std::string& id) {
  auto all = find_elements(dom, tag, "", id);
  if (all.empty()) return std::nullopt;
  return all.front();
}

// The text of some markup: tags dropped, entities decoded, spaces collapsed.
std::string text_of(const std::string& markup) {
  std::string out;
  bool in_tag = false;
  for (char c : markup) {
    if (c == '<') {
      in_tag = true;
      out += ' ';
    } else if (c == '>') {
      in_tag = false;
    } else if (!in_tag) {
      out += c;
    }
  }
  out = unescape_html(out);
  std::string collapsed;
  for (char c : out) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!collapsed.empty() && collapsed.back() != ' ') collapsed += ' ';
    } else {
      collapsed += c;
    }
  }
  return collapsed;
}

// The page's console messages in chromium's log (--enable-logging=stderr).
std::vector<std::string> console_lines(const std::string& log) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    std::string line = log.substr(start, end - start);
    if (line.find(":CONSOLE") != std::string::npos) lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

// ---- chromium -----------------------------------------------------------------

// Headless chromium with its own HOME (the NSS database), profile and
// /etc/chromium (the managed policy), as the header says.
class Browser {
 public:
  // Trusts ca_file, presents the client certificate (cert, key) to any
  // page under `origin` ("https://127.0.0.1:PORT").
  Browser(const fs::path& ca_file, const fs::path& cert, const fs::path& key,
          const std::string& origin)
      : home_(tmp_.path() / "home"), etc_(tmp_.path() / "etc-chromium") {
    const fs::path nssdb = home_ / ".pki" / "nssdb";
    fs::create_directories(nssdb);
    const std::string db = "sql:" + nssdb.string();
    run("certutil -N -d " + shell_quote(db) + " --empty-password");
    run("certutil -A -d " + shell_quote(db) + " -n 'tlsgate dashboard test CA' -t 'C,,' -i " +
        q(ca_file));
    const fs::path p12 = tmp_.path() / "client.p12";
    run("openssl pkcs12 -export -in " + q(cert) + " -inkey " + q(key) + " -out " + q(p12) +
        " -name 'tlsgate dashboard client' -passout pass:dashboard");
    run("pk12util -d " + shell_quote(db) + " -i " + q(p12) + " -W dashboard");

    // What /etc/chromium holds (master_preferences), plus the policy.
    fs::create_directories(etc_ / "policies" / "managed");
    if (fs::is_directory("/etc/chromium")) {
      for (const auto& entry : fs::directory_iterator("/etc/chromium")) {
        if (entry.is_regular_file()) fs::copy_file(entry.path(), etc_ / entry.path().filename());
      }
    }
    // The value is a list of JSON strings, each itself JSON (Chrome's format).
    test::write_text(etc_ / "policies" / "managed" / "tlsgate-dashboard-test.json",
                     R"({"AutoSelectCertificateForUrls": ["{\"pattern\": \")" + origin +
                         R"(\", \"filter\": {}}"]})"
                         "\n");
  }

  // Runs chromium on url with `action` (--dump-dom, --screenshot=FILE);
  // its stdout.
  test::CommandResult run_chromium(const std::string& url, const std::string& action) {
    const std::string unshare =
        ::geteuid() == 0 ? "unshare --mount" : "unshare --map-root-user --mount";
    const std::vector<std::string> chromium = {
        "chromium",
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-features=MediaRouter,OptimizationHints,Translate",
        "--user-data-dir=" + (tmp_.path() / "profile").string(),
        "--window-size=1400,1500",
        "--hide-scrollbars",
        "--enable-logging=stderr",  // the page's console, as INFO:CONSOLE lines
        "--virtual-time-budget=4000",
        action,
        url};
    // In the new mount namespace: $0 is the policy folder, "$@" chromium's
    // command line. A load takes about 1.5 s; each run is cut at 30 s (a
    // certificate prompt nobody answers would hang it).
    const std::string cmd =
        "env HOME=" + q(home_) + " " + unshare +
        " sh -c 'mount --bind \"$0\" /etc/chromium && exec timeout 30 \"$@\"' " + q(etc_) + " " +
        test::shell_join(chromium);
    return test::run_shell(cmd, tmp_.path(), Millis(60000));
  }

 private:
  void run(const std::string& cmd) {
    auto r = test::run_shell(cmd, tmp_.path(), Millis(60000));
    if (r.code != 0)
      throw std::runtime_error(cmd + " failed (" + std::to_string(r.code) + "): " + r.out + r.err);
  }

  test::TempDir tmp_;
  fs::path home_;
  fs::path etc_;
};

// The build folder (the nearest parent of the working folder with a
// CMakeCache.txt; ctest runs a test in its own build subfolder).
fs::path build_folder() {
  fs::path dir = fs::current_path();
  for (fs::path d = dir; !d.empty(); d = d.parent_path()) {
    if (fs::exists(d / "CMakeCache.txt")) return d;
    if (d == d.parent_path()) break;
  }
  return dir;
}

// ---- the fixture ------------------------------------------------------------

class Dashboard : public test::GateTest {
 protected:
  Dashboard() : GateTest("dashboard test CA", fs::path("certs") / "gate") {}

  void SetUp() override {
    GateTest::SetUp();
    if (HasFatalFailure()) return;
    for (const char* tool : {"chromium", "certutil", "pk12util", "unshare"}) {
      ASSERT_EQ(test::run_shell(std::string("command -v ") + tool).code, 0)
          << tool << " is not installed: run scripts/install-deps.sh test";
    }
    ASSERT_TRUE(fs::is_directory("/etc/chromium"))
        << "/etc/chromium is missing (the mount point of the test's policy folder): reinstall "
           "the chromium package";

    // The connector's certificate: 20 days and a half left, so the page
    // must say 20 and colour it amber (under 30).
    const auto now = util::SystemClock::instance().now();
    gate_cert_ = test::make_leaf(
        ca_, {"localhost", "127.0.0.1"}, true, false,
        test::Validity{now - std::chrono::hours(1), now + std::chrono::hours(24 * 20 + 12)});
    test::write_cert(policy_dir_ / "public.crt", gate_cert_.cert.get());
    test::write_key(policy_dir_ / "private.key", gate_cert_.key.get());

    // The admin listener; the operator (may write), an auditor (may read),
    // and a stranger for the failed handshake.
    enable_admin(dir_ / "clients", {"ops", "auditor"});
    ops_cert_ = dir_ / "clients" / "ops.crt";
    ops_key_ = dir_ / "clients" / "ops.key";
    auditor_cert_ = dir_ / "clients" / "auditor.crt";
    auditor_key_ = dir_ / "clients" / "auditor.key";
    auto stranger_ca = test::make_test_ca("stranger CA");
    auto mallory = test::make_leaf(stranger_ca, {"mallory"}, false, true);
    mallory_cert_ = dir_ / "clients" / "mallory.crt";
    mallory_key_ = dir_ / "clients" / "mallory.key";
    test::write_cert(mallory_cert_, mallory.cert.get());
    test::write_key(mallory_key_, mallory.key.get());

    conf_.set("server.worker_threads", "2")
        .set("server.log_level", "debug")
        .set("server.shutdown_timeout", "1")
        .set("ssl.policy.gate.enabled", "true")
        .set("ssl.policy.gate.base_directory", "certs/gate")
        .set("ssl.policy.gate.client_auth", "REQUIRE")
        .set("connector.echo.listen_address", "127.0.0.1:" + std::to_string(gate_port_))
        .set("connector.echo.upstream_address", "127.0.0.1:" + std::to_string(echo_.port()))
        .set("connector.echo.ssl_policy", "gate")
        .set("admin.ssl_policy", "admin")
        .set("admin.read_only_identities", "auditor");
  }

  std::string origin() const { return "https://127.0.0.1:" + std::to_string(admin_port_); }

  // Loads the dashboard until its data is in (data-state="ready" and the
  // certificate rows drawn), at most `attempts` times; the DOM of the last load.
  std::string load(Browser& browser, int attempts = 3) {
    std::string dom;
    for (int i = 0; i < attempts; ++i) {
      auto r = browser.run_chromium(origin() + "/", "--dump-dom");
      dom = r.out;
      console_ = console_lines(r.err);
      const bool ready = dom.find("<body data-state=\"ready\"") != std::string::npos &&
                         !find_elements(dom, "tr", "cert-row").empty();
      if (ready) return dom;
      last_error_ = "chromium exit " + std::to_string(r.code) +
                    "; stderr tail: " + r.err.substr(r.err.size() > 3000 ? r.err.size() - 3000 : 0);
    }
    return dom;
  }

  // The failure chart's numbers: total, and by reason from the legend.
  struct Chart {
    long total = -1;
    std::map<std::string, long> by_reason;
  };
  static Chart chart_of(const std::string& dom) {
    Chart c;
    if (auto svg = by_id(dom, "svg", "failure-chart")) {
      c.total = std::stol(
          svg->attr("data-total-failures").empty() ? "-1" : svg->attr("data-total-failures"));
    }
    for (const auto& li : find_elements(dom, "li", "legend-item")) {
      c.by_reason[li.attr("data-reason")] = std::stol(li.attr("data-count"));
    }
    return c;
  }

  test::EchoServer echo_;
  fs::path ops_cert_, ops_key_, auditor_cert_, auditor_key_, mallory_cert_, mallory_key_;
  std::string last_error_;
  std::vector<std::string> console_;  // of the last load
};

TEST_F(Dashboard, ShowsCertificatesAndAFailedHandshakeInAHeadlessChromium) {
  start_gate();
  ASSERT_EQ(gate_->wait_listening(admin_port_), "") << "the admin listener did not come up";
  Browser browser(ca_file_, ops_cert_, ops_key_, origin());

  // 1. The page with the data in it.
  const std::string dom = load(browser);
  ASSERT_NE(dom.find("<body data-state=\"ready\""), std::string::npos)
      << "the dashboard never had its data: " << last_error_ << "\nDOM:\n"
      << dom;
  auto banner = by_id(dom, "div", "api-error");
  ASSERT_TRUE(banner);
  EXPECT_TRUE(banner->has("hidden")) << "API error shown: " << text_of(banner->inner);

  const auto info = pki::describe(gate_cert_.cert.get(), util::SystemClock::instance());
  ASSERT_EQ(info.days_left, 20);  // the test's own premise (20.5 days minted)
  std::optional<Element> gate_row;
  std::vector<std::string> shown;
  for (const auto& row : find_elements(dom, "tr", "cert-row")) {
    shown.push_back(row.attr("data-policy") + "/" + row.attr("data-side") + ": " +
                    row.attr("data-subject"));
    if (row.attr("data-policy") == "gate" && row.attr("data-side") == "server") gate_row = row;
  }
  ASSERT_TRUE(gate_row) << "no row for policy gate (server); rows: "
                        << testing::PrintToString(shown);
  EXPECT_EQ(gate_row->attr("data-subject"), info.subject);
  EXPECT_EQ(gate_row->attr("data-serial"), info.serial_hex);
  EXPECT_EQ(gate_row->attr("data-days-left"), "20");
  EXPECT_EQ(gate_row->attr("data-level"), "amber");
  const std::string row_text = text_of(gate_row->inner);
  EXPECT_NE(row_text.find(info.subject), std::string::npos) << row_text;  // shown, not only tagged
  EXPECT_NE(row_text.find("20 d"), std::string::npos) << row_text;
  EXPECT_NE(gate_row->inner.find("bar-fill bar-amber"), std::string::npos) << gate_row->inner;

  auto connectors = find_elements(dom, "tr", "connector-row");
  ASSERT_EQ(connectors.size(), 1U) << dom;
  EXPECT_EQ(connectors[0].attr("data-connector"), "echo");
  EXPECT_NE(text_of(connectors[0].inner).find("127.0.0.1:" + std::to_string(gate_port_)),
            std::string::npos);

  auto caller = by_id(dom, "dd", "caller");
  ASSERT_TRUE(caller);
  EXPECT_EQ(caller->attr("data-identity"), "ops");
  EXPECT_EQ(caller->attr("data-can-write"), "true");
  auto upload = by_id(dom, "section", "upload");
  ASSERT_TRUE(upload);
  EXPECT_FALSE(upload->has("hidden")) << "ops may write: the upload form must be shown";

  const Chart before = chart_of(dom);
  ASSERT_GE(before.total, 0) << "no failure chart in the page";
  const long unknown_before =
      before.by_reason.count("unknown_ca") ? before.by_reason.at("unknown_ca") : 0;

  // 2. One handshake refused: a client certificate from a CA the gate does
  // not trust.
  auto refused = test::run_shell(
      "timeout 15 openssl s_client -connect 127.0.0.1:" + std::to_string(gate_port_) +
      " -servername localhost -CAfile " + q(ca_file_) + " -cert " + q(mallory_cert_) + " -key " +
      q(mallory_key_) + " </dev/null");
  ASSERT_TRUE(gate_->wait_for_log("failed verification against ssl.policy.gate.trusted_dir"))
      << refused.out << refused.err;

  // 3. Load again: the chart shows it (a few loads: the count is folded
  // from the workers when asked, bounded by the attempts).
  std::string after_dom;
  Chart after;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int i = 0; i < 6 && std::chrono::steady_clock::now() < deadline; ++i) {
    after_dom = load(browser, 1);
    after = chart_of(after_dom);
    if (after.total > before.total) break;
  }
  EXPECT_EQ(after.total, before.total + 1) << after_dom;
  ASSERT_TRUE(after.by_reason.count("unknown_ca"))
      << "legend: " << testing::PrintToString(after.by_reason);
  EXPECT_EQ(after.by_reason.at("unknown_ca"), unknown_before + 1);
  auto svg = by_id(after_dom, "svg", "failure-chart");
  ASSERT_TRUE(svg);
  EXPECT_NE(svg->inner.find("data-reason=\"unknown_ca\""), std::string::npos)
      << "no bar for unknown_ca in the chart";
  auto echo_after = find_elements(after_dom, "tr", "connector-row");
  ASSERT_EQ(echo_after.size(), 1U);
  EXPECT_EQ(std::stol(echo_after[0].attr("data-failed")),
            std::stol(connectors[0].attr("data-failed")) + 1);

  // The page broke no rule of the admin server's Content-Security-Policy
  // (no inline script or style) and threw nothing.
  for (const auto& line : console_) {
    EXPECT_EQ(line.find("Content Security Policy"), std::string::npos) << line;
    EXPECT_EQ(line.find("Uncaught"), std::string::npos) << line;
  }

  // Nothing a script left half done.
  const std::string page_text = text_of(after_dom);
  for (const char* debris : {"undefined", "NaN", "[object ", "null"}) {
    EXPECT_EQ(page_text.find(debris), std::string::npos) << debris << " in: " << page_text;
  }

  // 4. A read-only identity sees the same figures and no upload form.
  Browser auditor(ca_file_, auditor_cert_, auditor_key_, origin());
  const std::string read_only = load(auditor);
  ASSERT_NE(read_only.find("<body data-state=\"ready\""), std::string::npos)
      << "the dashboard never had its data for auditor: " << last_error_;
  auto auditor_caller = by_id(read_only, "dd", "caller");
  ASSERT_TRUE(auditor_caller);
  EXPECT_EQ(auditor_caller->attr("data-identity"), "auditor");
  EXPECT_EQ(auditor_caller->attr("data-can-write"), "false");
  EXPECT_NE(text_of(auditor_caller->inner).find("read-only"), std::string::npos);
  auto hidden_upload = by_id(read_only, "section", "upload");
  ASSERT_TRUE(hidden_upload);
  EXPECT_TRUE(hidden_upload->has("hidden")) << "auditor may only read: no upload form";
  EXPECT_EQ(chart_of(read_only).total, after.total);

  // 5. The screenshot, for the note and for people.
  const fs::path shot = build_folder() / "dashboard.png";
  fs::remove(shot);
  auto r = browser.run_chromium(origin() + "/", "--screenshot=" + shot.string());
  ASSERT_TRUE(fs::exists(shot)) << "no screenshot: " << r.err;
  std::ifstream png(shot, std::ios::binary);
  std::string magic(8, '\0');
  png.read(magic.data(), 8);
  EXPECT_EQ(magic, std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_GT(fs::file_size(shot), 20000U) << "a blank page?";
  std::cout << "dashboard screenshot: " << shot.string() << std::endl;
}

}  // namespace
}  // namespace tlsgate::e2e::admin
