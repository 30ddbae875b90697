#include "pki/layout.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "pki/chain_verify.h"
#include "pki/encode.h"
#include "pki/loader.h"
#include "pki/private_key_loader.h"
#include "util/atomic_file.h"

namespace tlsgate::pki {
namespace {

constexpr mode_t kKeyMode = 0400;
constexpr mode_t kCertMode = 0644;
constexpr mode_t kDirMode = 0755;

bool valid_scope(const std::string& scope) {
  return !scope.empty() && std::all_of(scope.begin(), scope.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

util::Status make_dir(const std::filesystem::path& dir, std::optional<mode_t> mode) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return util::fail("cannot create the folder " + dir.string() + ": " + ec.message() +
                      "; check that the base folder exists and is writable");
  }
  if (mode && ::chmod(dir.c_str(), *mode) != 0) {
    return util::fail("cannot set the mode of " + dir.string() + ": " +
                      std::strerror(errno));  // NOLINT(concurrency-mt-unsafe)
  }
  return {};
}

std::string trusted_name(const std::filesystem::path& cert) {
  std::string ext = cert.extension().string();
  if (ext == ".crt" || ext == ".pem") return cert.filename().string();
  return cert.stem().string() + ".crt";
}

}  // namespace

util::Result<std::filesystem::path> install(const InstallRequest& req) {
  if (!valid_scope(req.scope)) {
    return util::fail("\"" + req.scope +
                      "\" is not a valid scope name; use letters, digits, '_' "
                      "or '-' (e.g. bolt, https, cluster)");
  }
  // Read and check everything before the first write.
  auto certs = load_certificates(req.cert);
  if (!certs) return util::fail(certs.error());
  auto key_bytes = util::read_file(req.key);
  if (!key_bytes) return util::fail(key_bytes.error());
  auto key =
      parse_private_key(*key_bytes, req.key.string(), req.key_password, req.key_password_advice);
  if (!key) return util::fail(key.error());
  const X509* leaf = certs->front().get();
  if (auto st = check_key_matches(leaf, key->get(), req.cert.string(), req.key.string()); !st) {
    return util::fail(st.error());
  }
  std::vector<X509Ptr> chain;
  for (size_t i = 1; i < certs->size(); ++i) chain.push_back(up_ref((*certs)[i].get()));

  std::string trusted_file;
  std::vector<X509Ptr> anchors;
  if (req.ca) {
    auto ca = load_certificates(*req.ca);
    if (!ca) return util::fail(ca.error());
    VerifyOptions options;
    options.check_time = false;
    if (auto st = verify_chain(leaf, chain, *ca, {}, options); !st) {
      return util::fail(req.cert.string() + " does not chain to the CA in " + req.ca->string() +
                        ": " + st.error().message());
    }
    anchors = std::move(*ca);
    trusted_file = "ca.crt";
  } else {
    anchors.push_back(up_ref(leaf));
    trusted_file = trusted_name(req.cert);
  }
  auto public_pem = chain_pem(leaf, chain);
  if (!public_pem) return util::fail(public_pem.error());
  std::string trusted_pem;
  for (const auto& anchor : anchors) {
    auto pem = certificate_pem(anchor.get());
    if (!pem) return util::fail(pem.error());
    trusted_pem += *pem;
  }

  const auto folder = req.base / "certificates" / req.scope;
  for (const auto& [dir, mode] : {std::pair{folder, std::optional<mode_t>()},
                                  std::pair{folder / "trusted", std::optional<mode_t>(kDirMode)},
                                  std::pair{folder / "revoked", std::optional<mode_t>(kDirMode)}}) {
    if (auto st = make_dir(dir, mode); !st) return util::fail(st.error());
  }
  if (auto st = util::write_file_atomic(folder / "private.key", *key_bytes, kKeyMode); !st) {
    return util::fail(st.error());
  }
  if (auto st = util::write_file_atomic(folder / "public.crt", *public_pem, kCertMode); !st) {
    return util::fail(st.error());
  }
  if (auto st = util::write_file_atomic(folder / "trusted" / trusted_file, trusted_pem, kCertMode);
      !st) {
    return util::fail(st.error());
  }
  return folder;
}

}  // namespace tlsgate::pki
