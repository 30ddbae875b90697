#include "support/softhsm.h"

#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>

#include "support/process.h"
#include "support/temp_dir.h"

namespace tlsgate::test {

const SoftHsm& softhsm() {
  static const SoftHsm hsm = [] {
    if (!std::filesystem::exists(kSoftHsmModule)) {
      throw std::runtime_error(std::string(kSoftHsmModule) +
                               " is missing; run scripts/install-deps.sh test (softhsm2)");
    }
    static TempDir dir;  // lives as long as the process
    SoftHsm h;
    h.dir = dir.path();
    h.tokendir = h.dir / "tokens";
    std::filesystem::create_directories(h.tokendir);
    write_text(h.dir / "softhsm2.conf", "directories.tokendir = " + h.tokendir.string() +
                                            "\nobjectstore.backend = file\nlog.level = ERROR\n");
    ::setenv("SOFTHSM2_CONF", (h.dir / "softhsm2.conf").c_str(), 1);
    return h;
  }();
  return hsm;
}

namespace {
std::map<std::string, std::filesystem::path>& folders() {
  static std::map<std::string, std::filesystem::path> m;
  return m;
}
std::set<std::filesystem::path> listing(const std::filesystem::path& dir) {
  std::set<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.insert(e.path());
  return out;
}
}  // namespace

std::filesystem::path token_folder(const std::string& label) {
  auto it = folders().find(label);
  if (it == folders().end()) throw std::runtime_error("no token " + label + " made here");
  return it->second;
}

std::string make_token(const std::string& label, const std::string& pin, const std::string& object,
                       const std::string& key_type) {
  const auto& h = softhsm();
  const auto before = listing(h.tokendir);
  int code = 0;
  auto out = run_command("softhsm2-util --init-token --free --label " + shell_quote(label) +
                             " --pin " + shell_quote(pin) + " --so-pin 87654321 2>&1",
                         &code);
  if (code != 0) throw std::runtime_error("softhsm2-util --init-token failed: " + out);
  for (const auto& d : listing(h.tokendir)) {
    if (!before.count(d)) folders()[label] = d;
  }
  out = run_command("pkcs11-tool --module " + shell_quote(h.module) + " --token-label " +
                        shell_quote(label) + " --login --pin " + shell_quote(pin) +
                        " --keypairgen --key-type " + shell_quote(key_type) + " --label " +
                        shell_quote(object) + " --id 01 2>&1",
                    &code);
  if (code != 0) throw std::runtime_error("pkcs11-tool --keypairgen failed: " + out);
  return "pkcs11:token=" + label + ";object=" + object + ";type=private";
}

pki::EvpPkeyPtr token_public_key(const std::string& label, const std::string& object) {
  const auto& h = softhsm();
  TempDir tmp;
  int code = 0;
  auto out = run_command("pkcs11-tool --module " + shell_quote(h.module) + " --token-label " +
                             shell_quote(label) + " --read-object --type pubkey --label " +
                             shell_quote(object) + " -o " + q(tmp / "pub.der") + " 2>&1",
                         &code);
  if (code != 0) throw std::runtime_error("pkcs11-tool --read-object failed: " + out);
  auto der = read_text(tmp / "pub.der");
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  pki::EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key) throw std::runtime_error("pkcs11-tool wrote no SubjectPublicKeyInfo for " + object);
  return key;
}

}  // namespace tlsgate::test
