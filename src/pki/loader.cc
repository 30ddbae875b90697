#include "pki/loader.h"

#include <algorithm>

#include "pki/certificate_info.h"
#include "pki/openssl_error.h"
#include "pki/pem_blocks.h"
#include "util/atomic_file.h"

namespace tlsgate::pki {
namespace {

template <typename T>
using D2i = T* (*)(T**, const unsigned char**, long);

// Decodes exactly one DER object; trailing bytes count as corruption.
template <typename T, typename Ptr>
util::Result<Ptr> decode_der(std::string_view der, D2i<T> d2i) {
  clear_openssl_errors();
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Ptr object(d2i(nullptr, &p, static_cast<long>(der.size())));
  if (!object) {
    std::string reasons = drain_openssl_errors();
    return util::fail(reasons.empty() ? std::string("cannot decode DER") : reasons);
  }
  if (p != reinterpret_cast<const unsigned char*>(der.data() + der.size())) {
    return util::fail("unexpected bytes after the end of the DER object");
  }
  return object;
}

// How to read one kind of object (certificate or CRL) from PEM or DER.
template <typename T, typename Ptr>
struct Kind {
  const char* what;         // "certificate", "CRL"
  const char* pem_example;  // "-----BEGIN CERTIFICATE-----"
  std::vector<std::pair<std::string_view, D2i<T>>> pem_names;
  D2i<T> der;
};

template <typename T, typename Ptr>
util::Result<std::vector<Ptr>> parse_objects(std::string_view data, const std::string& source,
                                             const Kind<T, Ptr>& kind) {
  const std::string what = kind.what;
  if (is_blank(data)) {
    return util::fail(source + ": empty file; expected a PEM or DER " + what);
  }
  auto corrupted = [&](const std::string& reason) {
    return util::fail(source + ": truncated or corrupted " + what + ": " + reason);
  };
  std::vector<Ptr> out;
  if (detect_encoding(data) == Encoding::kDer) {
    if (looks_like_text(data)) {
      return util::fail(source + ": not a PEM or DER " + what + " (no " + kind.pem_example +
                        " line); check that this is the right file");
    }
    auto object = decode_der<T, Ptr>(data, kind.der);
    if (!object) return corrupted(object.error().message());
    out.push_back(std::move(*object));
    return out;
  }
  auto blocks = read_pem_blocks(data);
  if (!blocks) return corrupted(blocks.error().message());
  std::string other;
  for (const auto& block : *blocks) {
    auto match = std::find_if(kind.pem_names.begin(), kind.pem_names.end(),
                              [&](const auto& n) { return n.first == block.name; });
    if (match == kind.pem_names.end()) {
      if (other.empty()) other = block.name;
      continue;
    }
    auto object = decode_der<T, Ptr>(block.der, match->second);
    if (!object) return corrupted(object.error().message());
    out.push_back(std::move(*object));
  }
  if (out.empty()) {
    if (!other.empty()) {
      return util::fail(source + ": not a " + what + " (found a " + other + " block)");
    }
    return corrupted("no complete PEM block");
  }
  return out;
}

const Kind<X509, X509Ptr>& certificate_kind() {
  static const Kind<X509, X509Ptr> kind{"certificate",
                                        "-----BEGIN CERTIFICATE-----",
                                        {{"CERTIFICATE", d2i_X509},
                                         {"X509 CERTIFICATE", d2i_X509},
                                         {"TRUSTED CERTIFICATE", d2i_X509_AUX}},
                                        d2i_X509};
  return kind;
}

const Kind<X509_CRL, X509CrlPtr>& crl_kind() {
  static const Kind<X509_CRL, X509CrlPtr> kind{
      "CRL", "-----BEGIN X509 CRL-----", {{"X509 CRL", d2i_X509_CRL}}, d2i_X509_CRL};
  return kind;
}

// Parses every file of dir in name order and hands each file's objects to add(file, objects).
template <typename Parse, typename Add>
util::Status load_dir(const std::filesystem::path& dir, const char* what, Parse parse, Add add) {
  auto files = folder_files(dir, what);
  if (!files) return util::fail(files.error());
  for (const auto& file : *files) {
    auto objects = parse(file);
    if (!objects) return util::fail(objects.error());
    add(file, std::move(*objects));
  }
  return {};
}

template <typename Ptr, typename Parse>
util::Result<std::vector<Ptr>> load_dir_flat(const std::filesystem::path& dir, const char* what,
                                             Parse parse) {
  std::vector<Ptr> out;
  auto st = load_dir(dir, what, parse, [&](const std::filesystem::path&, std::vector<Ptr> objects) {
    for (auto& object : objects) out.push_back(std::move(object));
  });
  if (!st) return util::fail(st.error());
  return out;
}

}  // namespace

Encoding detect_encoding(std::string_view data) {
  return data.find("-----BEGIN ") != std::string_view::npos ? Encoding::kPem : Encoding::kDer;
}

util::Result<std::vector<X509Ptr>> parse_certificates(std::string_view data,
                                                      const std::string& source) {
  return parse_objects(data, source, certificate_kind());
}

util::Result<std::vector<X509Ptr>> load_certificates(const std::filesystem::path& path) {
  auto data = util::read_file(path);
  if (!data) return util::fail(data.error());
  return parse_certificates(*data, path.string());
}

util::Result<std::vector<X509CrlPtr>> parse_crls(std::string_view data, const std::string& source) {
  return parse_objects(data, source, crl_kind());
}

util::Result<std::vector<X509CrlPtr>> load_crls(const std::filesystem::path& path) {
  auto data = util::read_file(path);
  if (!data) return util::fail(data.error());
  return parse_crls(*data, path.string());
}

util::Result<std::vector<std::filesystem::path>> folder_files(const std::filesystem::path& dir,
                                                              const char* what) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    return util::fail(dir.string() + ": no such folder; create it and put the " + what +
                      " files in it (it may stay empty)");
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    return util::fail(dir.string() + ": not a folder; it must be a folder of " + what + " files");
  }
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto& path = it->path();
    if (path.filename().string().starts_with(".")) continue;
    std::error_code type_ec;
    if (std::filesystem::is_regular_file(path, type_ec)) files.push_back(path);
  }
  if (ec) return util::fail(dir.string() + ": cannot list the folder: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

util::Result<std::vector<X509Ptr>> load_certificates_dir(const std::filesystem::path& dir) {
  return load_dir_flat<X509Ptr>(dir, "trusted CA certificate", load_certificates);
}

util::Result<std::vector<X509CrlPtr>> load_crls_dir(const std::filesystem::path& dir) {
  return load_dir_flat<X509CrlPtr>(dir, "CRL", load_crls);
}

util::Result<std::vector<CrlFromFile>> load_crl_files_dir(const std::filesystem::path& dir) {
  std::vector<CrlFromFile> out;
  auto st = load_dir(dir, "CRL", load_crls,
                     [&](const std::filesystem::path& file, std::vector<X509CrlPtr> crls) {
                       for (auto& crl : crls) out.push_back({file, std::move(crl)});
                     });
  if (!st) return util::fail(st.error());
  return out;
}

util::Status check_key_matches(const X509* cert, const EVP_PKEY* key,
                               const std::string& cert_source, const std::string& key_source) {
  const EVP_PKEY* pub = X509_get0_pubkey(cert);
  clear_openssl_errors();
  if (pub != nullptr && key != nullptr && EVP_PKEY_eq(pub, key) == 1) return {};
  clear_openssl_errors();
  return util::fail(key_source + " does not match the certificate in " + cert_source + " (" +
                    subject_of(cert) +
                    "); use the key the certificate was issued for, or reissue the certificate");
}

}  // namespace tlsgate::pki
