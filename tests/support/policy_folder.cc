#include "support/policy_folder.h"

namespace tlsgate::test {

config::Policy make_policy(const std::filesystem::path& dir, const std::string& scope,
                           const TestCa& ca, const pki::Issued& leaf) {
  config::Policy p;
  p.scope = scope;
  p.enabled = true;
  p.base_directory = dir / "certificates" / scope;
  p.private_key = p.base_directory / "private.key";
  p.public_certificate = p.base_directory / "public.crt";
  p.trusted_dir = p.base_directory / "trusted";
  p.revoked_dir = p.base_directory / "revoked";
  std::filesystem::create_directories(p.trusted_dir);
  std::filesystem::create_directories(p.revoked_dir);
  write_key(p.private_key, leaf.key.get());
  write_cert(p.public_certificate, leaf.cert.get());
  write_cert(p.trusted_dir / "ca.crt", ca.ca.cert.get());
  return p;
}

}  // namespace tlsgate::test
