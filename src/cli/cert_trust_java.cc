// `cert trust --java`: ROOT/etc/ssl/certs/java/cacerts (Debian's, password changeit), changed
// with `keytool -importcert` and `keytool -delete`. The store must exist: it belongs to
// ca-certificates-java, and one made here would not be the one Java reads.
#include "cli/cert_trust_store.h"

namespace tlsgate::cli::trust {

namespace fs = std::filesystem;

void update_java(TrustRun& run) {
  fs::path cacerts = run.root() / "etc/ssl/certs/java/cacerts";
  fs::path prog = find_program("keytool");
  if (prog.empty()) {
    return run.fail("java", "keytool not found on PATH (Debian package default-jre-headless)");
  }
  std::error_code ec;
  if (!fs::exists(cacerts, ec)) {
    return run.fail("java", "no Java trust store at " + cacerts.string() +
                                " (Debian package ca-certificates-java); nothing changed");
  }
  // keytool ACTION... -keystore CACERTS -storepass changeit -alias NAME
  auto keytool = [tool = prog.string(), store = cacerts.string()](
                     std::initializer_list<std::string> action, const std::string& alias) {
    std::vector<std::string> argv{tool};
    argv.insert(argv.end(), action);
    argv.insert(argv.end(), {"-keystore", store, "-storepass", "changeit", "-alias", alias});
    return argv;
  };
  NamedStore store;
  store.step = "java";
  store.where = cacerts.string();
  store.tmp_dir = cacerts.parent_path();
  store.undo_flag = "--java";
  store.show = [=](const std::string& n) { return keytool({"-exportcert", "-rfc"}, n); };
  store.add = [=](const std::string& n, const std::string& file) {
    return keytool({"-importcert", "-noprompt", "-file", file}, n);
  };
  store.remove = [=](const std::string& n) { return keytool({"-delete"}, n); };
  update_named_store(run, store);
}

}  // namespace tlsgate::cli::trust
