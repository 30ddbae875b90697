// `tlsgate cert trust install|uninstall`: the system store in a throwaway root
// (update-ca-certificates with its folders redirected), NSS in a temp HOME
// (certutil and headless Chromium as oracles), Java cacerts in the throwaway
// root (keytool). The machine's own stores are never touched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CertTrust : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    tg_ok("cert ca --out ca --name 'Trusted Test CA'");
    tg_ok("cert ca --out other --name 'Other CA'");
    fs::create_directories(path("root"));
    fs::create_directories(path("home"));
    home_ = path("home");
  }

  // tlsgate with HOME set to the temp home.
  Proc tg_home(const std::string& args) const {
    return shell("HOME=" + q(home_) + " " + shell_quote(tlsgate_bin()) + " " + args);
  }
  bool has(const std::string& tool) const { return shell("command -v " + tool).code == 0; }
  // The default entry name's suffix: the first 8 hex digits of the SHA-256 fingerprint, per
  // openssl.
  std::string fp8(const std::string& cert) const {
    Proc fp =
        shell("openssl x509 -in " + q(cert) +
              " -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f | cut -c1-8");
    EXPECT_EQ(fp.code, 0) << describe(fp);
    return trim(fp.out);
  }
  Proc verify_with_bundle(const std::string& leaf) const {
    return shell("openssl verify -CAfile root/etc/ssl/certs/ca-certificates.crt " + q(leaf));
  }

  fs::path home_;
};

TEST_F(CertTrust, NothingIsTouchedWithoutAStoreFlag) {
  Proc r = tg_home("cert trust install --ca ca/ca.crt --root root");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "tlsgate: error: name the stores to install: --system, --nss and/or --java\n");
  EXPECT_TRUE(fs::is_empty(path("root")));
  EXPECT_TRUE(fs::is_empty(home_));
  Proc leaf = tg("cert issue --ca ca --out leaf db1");
  Proc not_ca = tg_home("cert trust install --ca leaf/public.crt --system --root root");
  EXPECT_EQ(not_ca.code, 1);
  EXPECT_THAT(not_ca.err, HasSubstr("is not a CA certificate; give the CA's certificate (ca.crt)"));
}

TEST_F(CertTrust, SystemStoreUnderARoot) {
  if (!fs::exists("/usr/sbin/update-ca-certificates")) GTEST_SKIP() << "no update-ca-certificates";
  // Another CA already trusted, so the bundle is not empty once ours is gone.
  fs::create_directories(path("root/usr/local/share/ca-certificates"));
  fs::copy_file(path("other/ca.crt"), path("root/usr/local/share/ca-certificates/other.crt"));
  std::string ours = read_file(path("ca/ca.crt"));
  const fs::path system_bundle = "/etc/ssl/certs/ca-certificates.crt";
  std::string system_bundle_before = fs::exists(system_bundle) ? read_file(system_bundle) : "";
  const std::string name = "trusted-test-ca-" + fp8("ca/ca.crt");

  Proc r = tg_ok("cert trust install --ca ca/ca.crt --system --root root");
  EXPECT_EQ(r.out, "system: added root/usr/local/share/ca-certificates/" + name +
                       ".crt and ran "
                       "update-ca-certificates (bundle root/etc/ssl/certs/ca-certificates.crt); "
                       "undo: tlsgate cert trust uninstall --ca ca/ca.crt --system --root root\n");
  EXPECT_EQ(read_file(path("root/usr/local/share/ca-certificates/" + name + ".crt")), ours);
  std::string bundle = read_file(path("root/etc/ssl/certs/ca-certificates.crt"));
  EXPECT_THAT(bundle, HasSubstr(ours));
  EXPECT_THAT(bundle, HasSubstr(read_file(path("other/ca.crt"))));
  EXPECT_TRUE(fs::is_symlink(path("root/etc/ssl/certs/" + name + ".pem")));
  // openssl trusts a leaf of the CA through the bundle.
  tg_ok("cert issue --ca ca --out leaf db1");
  EXPECT_EQ(
      shell("openssl verify -CAfile root/etc/ssl/certs/ca-certificates.crt leaf/public.crt").code,
      0);

  Proc u = tg_ok("cert trust uninstall --ca ca/ca.crt --system --root root");
  EXPECT_EQ(u.out, "system: removed root/usr/local/share/ca-certificates/" + name +
                       ".crt and ran "
                       "update-ca-certificates (bundle root/etc/ssl/certs/ca-certificates.crt); "
                       "undo: tlsgate cert trust install --ca ca/ca.crt --system --root root\n");
  bundle = read_file(path("root/etc/ssl/certs/ca-certificates.crt"));
  EXPECT_THAT(bundle, Not(HasSubstr(ours)));
  EXPECT_THAT(bundle, HasSubstr(read_file(path("other/ca.crt"))));
  EXPECT_FALSE(fs::exists(path("root/etc/ssl/certs/" + name + ".pem")));
  EXPECT_NE(
      shell("openssl verify -CAfile root/etc/ssl/certs/ca-certificates.crt leaf/public.crt").code,
      0);
  Proc again = tg_ok("cert trust uninstall --ca ca/ca.crt --system --root root");
  EXPECT_THAT(again.out, HasSubstr("is not there; nothing to remove"));
  // The machine's own store did not change.
  EXPECT_EQ(fs::exists(system_bundle) ? read_file(system_bundle) : "", system_bundle_before);
}

TEST_F(CertTrust, NssDatabaseInHome) {
  if (!has("certutil")) GTEST_SKIP() << "certutil (libnss3-tools) is not installed";
  Proc r = tg_home("cert trust install --ca ca/ca.crt --nss --name test-ca");
  ASSERT_EQ(r.code, 0) << describe(r);
  const std::string db = "sql:" + (home_ / ".pki/nssdb").string();
  EXPECT_EQ(r.out,
            "nss: created the NSS database " + (home_ / ".pki/nssdb").string() +
                "\nnss: added \"test-ca\" (trusted for TLS servers, C,,) to " + db +
                "; undo: tlsgate cert trust uninstall --ca ca/ca.crt --nss --name test-ca\n");
  Proc list = shell("certutil -L -d " + q(db));
  ASSERT_EQ(list.code, 0) << describe(list);
  EXPECT_THAT(list.out, ::testing::ContainsRegex("test-ca +C,,"));
  Proc pem = shell("certutil -L -d " + q(db) + " -n test-ca -a | tr -d '\\r'");
  EXPECT_EQ(trim(pem.out), trim(read_file(path("ca/ca.crt"))));
  Proc again = tg_home("cert trust install --ca ca/ca.crt --nss --name test-ca");
  EXPECT_THAT(again.out, HasSubstr("nss: \"test-ca\" is already in " + db + "; nothing changed"));
  // Another CA under the same nickname is neither said to be there nor removes ours.
  const std::string not_ours = "tlsgate: error: nss: \"test-ca\" in " + db +
                               " holds another certificate: CN=Trusted Test CA,O=tlsgate, "
                               "SHA-256 ";
  Proc other = tg_home("cert trust install --ca other/ca.crt --nss --name test-ca");
  EXPECT_EQ(other.code, 1) << describe(other);
  EXPECT_THAT(other.err, ::testing::StartsWith(not_ours));
  EXPECT_THAT(other.err, HasSubstr(", not CN=Other CA,O=tlsgate (other/ca.crt); left it; choose "
                                   "another --name, or uninstall that CA first\n"));
  Proc other_u = tg_home("cert trust uninstall --ca other/ca.crt --nss --name test-ca");
  EXPECT_EQ(other_u.code, 1) << describe(other_u);
  EXPECT_THAT(other_u.err, ::testing::StartsWith(not_ours));
  EXPECT_THAT(other_u.err, HasSubstr("; left it; nothing removed\n"));
  EXPECT_THAT(shell("certutil -L -d " + q(db)).out, ::testing::ContainsRegex("test-ca +C,,"));

  Proc u = tg_home("cert trust uninstall --ca ca/ca.crt --nss --name test-ca");
  ASSERT_EQ(u.code, 0) << describe(u);
  EXPECT_EQ(u.out, "nss: removed \"test-ca\" from " + db +
                       "; undo: tlsgate cert trust install --ca ca/ca.crt --nss --name test-ca\n");
  EXPECT_THAT(shell("certutil -L -d " + q(db)).out, Not(HasSubstr("test-ca")));
}

TEST_F(CertTrust, JavaCacertsUnderARoot) {
  if (!has("keytool")) GTEST_SKIP() << "keytool (default-jre-headless) is not installed";
  const fs::path cacerts = "root/etc/ssl/certs/java/cacerts";
  const std::string alias = "trusted-test-ca-" + fp8("ca/ca.crt");
  // A cacerts of one other CA, as Debian keeps it (PKCS#12, password changeit).
  fs::create_directories(path(cacerts.parent_path().string()));
  test::write_text(path("changeit"), "changeit\n", 0600);
  tg_ok("cert pkcs12 --truststore --ca other/ca.crt --out " + q(cacerts) +
        " --password-file changeit");
  Proc r = tg_ok("cert trust install --ca ca/ca.crt --java --root root");
  EXPECT_EQ(r.out, "java: added \"" + alias + "\" to " + cacerts.string() +
                       "; undo: tlsgate cert trust uninstall --ca ca/ca.crt --java --root root\n");
  Proc list = shell("keytool -list -keystore " + q(cacerts) + " -storepass changeit 2>&1");
  ASSERT_EQ(list.code, 0) << describe(list);
  EXPECT_THAT(list.out, HasSubstr("Your keystore contains 2 entries"));
  EXPECT_THAT(list.out, ::testing::ContainsRegex(alias + ", [^\n]*, trustedCertEntry"));

  // Another CA under our alias is not removed.
  Proc other = tg("cert trust uninstall --ca other/ca.crt --java --root root --name " + alias);
  EXPECT_EQ(other.code, 1) << describe(other);
  EXPECT_THAT(other.err,
              HasSubstr("tlsgate: error: java: \"" + alias + "\" in " + cacerts.string() +
                        " holds another certificate: CN=Trusted Test CA,O=tlsgate, "));
  EXPECT_THAT(other.err, HasSubstr("; left it; nothing removed\n"));

  Proc u = tg_ok("cert trust uninstall --ca ca/ca.crt --java --root root");
  EXPECT_EQ(u.out, "java: removed \"" + alias + "\" from " + cacerts.string() +
                       "; undo: tlsgate cert trust install --ca ca/ca.crt --java --root root\n");
  list = shell("keytool -list -keystore " + q(cacerts) + " -storepass changeit 2>&1");
  EXPECT_THAT(list.out, HasSubstr("Your keystore contains 1 entry"));
  EXPECT_THAT(list.out, Not(HasSubstr("trusted-test-ca")));

  // Without keytool on PATH the step asked for cannot run: that is an error, which says why.
  Proc no_tool = shell("PATH=/nonexistent " + shell_quote(tlsgate_bin()) +
                       " cert trust install --ca ca/ca.crt --java --root root");
  EXPECT_EQ(no_tool.code, 1) << describe(no_tool);
  EXPECT_EQ(no_tool.err,
            "tlsgate: error: java: keytool not found on PATH (Debian package "
            "default-jre-headless)\n");
  EXPECT_EQ(no_tool.out, "");
}

// --java names the store: when it is not there, the command fails and says where it looked
// (it used to say "skipped" and exit 0).
TEST_F(CertTrust, AbsentJavaStoreIsAnError) {
  if (!has("keytool")) GTEST_SKIP() << "keytool (default-jre-headless) is not installed";
  for (const char* action : {"install", "uninstall"}) {
    Proc r = tg(std::string("cert trust ") + action + " --ca ca/ca.crt --java --root root");
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_EQ(r.err,
              "tlsgate: error: java: no Java trust store at root/etc/ssl/certs/java/cacerts "
              "(Debian package ca-certificates-java); nothing changed\n");
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(fs::is_empty(path("root")));
}

// Every `cert ca` without --name is "tlsgate CA": the second one installed must not replace
// the first one's file (which dropped the first CA from the bundle).
TEST_F(CertTrust, CasWithTheSameNameGetTheirOwnFiles) {
  if (!fs::exists("/usr/sbin/update-ca-certificates")) GTEST_SKIP() << "no update-ca-certificates";
  tg_ok("cert ca --out ca1");
  tg_ok("cert ca --out ca2");
  tg_ok("cert issue --ca ca1 --out leaf1 db1");
  tg_ok("cert issue --ca ca2 --out leaf2 db2");
  tg_ok("cert trust install --ca ca1/ca.crt --system --root root");
  tg_ok("cert trust install --ca ca2/ca.crt --system --root root");
  const fs::path local = path("root/usr/local/share/ca-certificates");
  const std::string f1 = "tlsgate-ca-" + fp8("ca1/ca.crt") + ".crt";
  const std::string f2 = "tlsgate-ca-" + fp8("ca2/ca.crt") + ".crt";
  ASSERT_NE(f1, f2);
  EXPECT_EQ(read_file(local / f1), read_file(path("ca1/ca.crt")));
  EXPECT_EQ(read_file(local / f2), read_file(path("ca2/ca.crt")));
  EXPECT_EQ(verify_with_bundle("leaf1/public.crt").code, 0);
  EXPECT_EQ(verify_with_bundle("leaf2/public.crt").code, 0);
  // Removing one leaves the other trusted.
  tg_ok("cert trust uninstall --ca ca1/ca.crt --system --root root");
  EXPECT_NE(verify_with_bundle("leaf1/public.crt").code, 0);
  EXPECT_EQ(verify_with_bundle("leaf2/public.crt").code, 0);
}

// Under one --name, a file that holds another CA is neither replaced nor removed.
TEST_F(CertTrust, FileOfAnotherCaIsLeftAlone) {
  if (!fs::exists("/usr/sbin/update-ca-certificates")) GTEST_SKIP() << "no update-ca-certificates";
  tg_ok("cert issue --ca other --out leaf db1");
  tg_ok("cert trust install --ca other/ca.crt --system --root root --name shared");
  const fs::path file = path("root/usr/local/share/ca-certificates/shared.crt");
  const std::string theirs = read_file(path("other/ca.crt"));
  const std::string fp = trim(shell("openssl x509 -in other/ca.crt -noout -fingerprint -sha256 | "
                                    "cut -d= -f2")
                                  .out);

  Proc u = tg("cert trust uninstall --ca ca/ca.crt --system --root root --name shared");
  EXPECT_EQ(u.code, 1) << describe(u);
  EXPECT_EQ(u.err,
            "tlsgate: error: system: root/usr/local/share/ca-certificates/shared.crt holds another "
            "certificate: CN=Other CA,O=tlsgate, SHA-256 " +
                fp + ", not CN=Trusted Test CA,O=tlsgate (ca/ca.crt); left it; nothing removed\n");
  EXPECT_EQ(read_file(file), theirs);
  EXPECT_EQ(verify_with_bundle("leaf/public.crt").code, 0);

  Proc i = tg("cert trust install --ca ca/ca.crt --system --root root --name shared");
  EXPECT_EQ(i.code, 1) << describe(i);
  EXPECT_EQ(
      i.err,
      "tlsgate: error: system: root/usr/local/share/ca-certificates/shared.crt holds another "
      "certificate: CN=Other CA,O=tlsgate, SHA-256 " +
          fp +
          ", not CN=Trusted Test CA,O=tlsgate (ca/ca.crt); left it; choose another --name, or "
          "uninstall that CA first\n");
  EXPECT_EQ(read_file(file), theirs);
  EXPECT_EQ(verify_with_bundle("leaf/public.crt").code, 0);

  // Its own CA removes it.
  tg_ok("cert trust uninstall --ca other/ca.crt --system --root root --name shared");
  EXPECT_FALSE(fs::exists(file));
}

// An earlier tlsgate named the file after the CN alone: uninstall still removes it when it
// holds this CA, and leaves it when it holds another one.
TEST_F(CertTrust, UninstallFindsTheFileOfAnEarlierDefaultName) {
  if (!fs::exists("/usr/sbin/update-ca-certificates")) GTEST_SKIP() << "no update-ca-certificates";
  const fs::path local = path("root/usr/local/share/ca-certificates");
  fs::create_directories(local);
  fs::copy_file(path("ca/ca.crt"), local / "trusted-test-ca.crt");
  fs::copy_file(path("ca/ca.crt"), local / "other-ca.crt");  // not Other CA's certificate
  Proc u = tg_ok("cert trust uninstall --ca ca/ca.crt --system --root root");
  EXPECT_THAT(u.out, ::testing::StartsWith(
                         "system: removed root/usr/local/share/ca-certificates/trusted-test-ca.crt "
                         "and ran update-ca-certificates"));
  EXPECT_FALSE(fs::exists(local / "trusted-test-ca.crt"));
  // The same for an NSS nickname of an earlier tlsgate.
  if (has("certutil")) {
    const std::string db = "sql:" + (home_ / ".pki/nssdb").string();
    fs::create_directories(home_ / ".pki/nssdb");
    ASSERT_EQ(shell("certutil -N -d " + q(db) + " --empty-password").code, 0);
    ASSERT_EQ(shell("certutil -A -d " + q(db) + " -t C,, -n trusted-test-ca -i ca/ca.crt").code, 0);
    Proc n = tg_home("cert trust uninstall --ca ca/ca.crt --nss");
    EXPECT_EQ(n.code, 0) << describe(n);
    EXPECT_THAT(n.out, ::testing::StartsWith("nss: removed \"trusted-test-ca\" from "));
    EXPECT_THAT(shell("certutil -L -d " + q(db)).out, Not(HasSubstr("trusted-test-ca")));
  }
  Proc o = tg_ok("cert trust uninstall --ca other/ca.crt --system --root root");
  EXPECT_EQ(o.out, "system: root/usr/local/share/ca-certificates/other-ca-" + fp8("other/ca.crt") +
                       ".crt is not there; nothing to remove\n");
  EXPECT_TRUE(fs::exists(local / "other-ca.crt"));
}

// --name becomes a file name in the store's folder: anything that could leave it is refused
// before a store is touched.
TEST_F(CertTrust, NameMustBeAPlainFileName) {
  for (const std::string& name : {std::string("../../x"), std::string("a/b"), std::string(".."),
                                  std::string("x..y"), std::string("a\tb")}) {
    Proc r = tg_home("cert trust install --ca ca/ca.crt --system --nss --java --root root --name " +
                     q(name));
    EXPECT_EQ(r.code, 2) << name << "\n" << describe(r);
    EXPECT_THAT(r.err, HasSubstr("tlsgate: error: --name \"" + name + "\" "));
    EXPECT_THAT(r.err, HasSubstr("; give a plain file name such as my-ca"));
    EXPECT_EQ(r.out, "");
  }
  Proc r = tg_home("cert trust install --ca ca/ca.crt --system --root root --name '../../x'");
  EXPECT_EQ(r.err,
            "tlsgate: error: --name \"../../x\" contains '/'; give a plain file name such as "
            "my-ca (it becomes NAME.crt, the NSS nickname and the Java alias)\n");
  EXPECT_TRUE(fs::is_empty(path("root")));
  EXPECT_TRUE(fs::is_empty(home_));
}

// Headless Chromium trusts a server certificate of the CA only once `--nss` put the CA into
// the NSS database of its HOME.
TEST_F(CertTrust, ChromiumTrustsTheCaAfterNssInstall) {
  if (!has("chromium") || !has("certutil")) GTEST_SKIP() << "chromium or certutil not installed";
  tg_ok("cert issue --ca ca --out site localhost");
  OpensslServer server(path("site/public.crt"), path("site/private.key"), {"-www"});
  ASSERT_EQ(server.start(), "");
  auto load = [&](const std::string& profile) {
    fs::create_directories(path(profile));
    return shell("HOME=" + q(home_) + " timeout 60 chromium --headless=new --no-sandbox " +
                 "--disable-gpu --no-first-run --user-data-dir=" + q(path(profile)) +
                 " --dump-dom https://localhost:" + std::to_string(server.port()) +
                 "/ 2>/dev/null");
  };
  const std::string page = "Ciphers supported in s_server binary";
  // Chromium dumps no DOM for a certificate error page.
  Proc before = load("profile1");
  EXPECT_THAT(before.out, Not(HasSubstr(page))) << describe(before);
  Proc install = tg_home("cert trust install --ca ca/ca.crt --nss");
  ASSERT_EQ(install.code, 0) << describe(install);
  Proc after = load("profile2");
  EXPECT_EQ(after.code, 0) << describe(after);
  EXPECT_THAT(after.out, HasSubstr(page)) << describe(after);
  Proc uninstall = tg_home("cert trust uninstall --ca ca/ca.crt --nss");
  ASSERT_EQ(uninstall.code, 0) << describe(uninstall);
  Proc removed = load("profile3");
  EXPECT_THAT(removed.out, Not(HasSubstr(page))) << describe(removed);
}

}  // namespace
}  // namespace tlsgate::e2e
