#include "pki/convert.h"

#include "pki/encode.h"
#include "pki/openssl_error.h"
#include "pki/pem_blocks.h"
#include "pki/private_key_loader.h"

namespace tlsgate::pki {
namespace {

template <typename Ptr, typename Pem, typename Der>
util::Result<Converted> convert_one(std::vector<Ptr> objects, ObjectKind kind, const char* what,
                                    const std::string& source, Encoding to, Pem pem, Der der) {
  if (to == Encoding::kDer && objects.size() > 1) {
    return util::fail(source + ": holds " + std::to_string(objects.size()) + " " + what +
                      "s but DER holds one; split the file into one " + what +
                      " per file, or convert to PEM");
  }
  Converted out{kind, {}};
  for (const auto& object : objects) {
    auto encoded = to == Encoding::kDer ? der(object.get()) : pem(object.get());
    if (!encoded) return util::fail(encoded.error().prefixed(source));
    out.data += *encoded;
  }
  return out;
}

util::Result<Converted> convert_certificates(std::string_view input, const std::string& source,
                                             Encoding to) {
  auto certs = parse_certificates(input, source);
  if (!certs) return util::fail(certs.error());
  return convert_one(std::move(*certs), ObjectKind::kCertificate, "certificate", source, to,
                     certificate_pem, certificate_der);
}

util::Result<Converted> convert_crls(std::string_view input, const std::string& source,
                                     Encoding to) {
  auto crls = parse_crls(input, source);
  if (!crls) return util::fail(crls.error());
  return convert_one(std::move(*crls), ObjectKind::kCrl, "CRL", source, to, crl_pem, crl_der);
}

util::Result<Converted> convert_key(std::string_view input, const std::string& source, Encoding to,
                                    const std::optional<util::Secret>& password,
                                    std::string_view password_advice) {
  auto key = parse_private_key(input, source, password, password_advice);
  if (!key) return util::fail(key.error());
  auto encoded = to == Encoding::kDer ? private_key_der(key->get(), password)
                                      : private_key_pem(key->get(), password);
  if (!encoded) return util::fail(encoded.error().prefixed(source));
  return Converted{ObjectKind::kPrivateKey, std::move(*encoded)};
}

// The input is a key, but locked: its error says so better than "not a certificate…" would.
bool is_key_error(const util::Error& error, const std::string& source) {
  const std::string& m = error.message();
  return m.starts_with(source + ": the private key is encrypted") ||
         m == source + ": wrong password for the encrypted private key";
}

}  // namespace

util::Result<Converted> convert(std::string_view input, const std::string& source, Encoding to,
                                const std::optional<util::Secret>& password,
                                std::string_view password_advice) {
  if (is_blank(input)) {
    return util::fail(source +
                      ": empty file; expected a PEM or DER certificate, private key or CRL");
  }
  if (detect_encoding(input) == Encoding::kPem) {
    auto blocks = read_pem_blocks(input);
    if (!blocks)
      return util::fail(source + ": truncated or corrupted PEM: " + blocks.error().message());
    if (blocks->empty())
      return util::fail(source + ": truncated or corrupted PEM: no complete PEM block");
    const std::string& name = blocks->front().name;
    // One kind per conversion: a certificate with its key after it came out
    // as the certificate alone, the key dropped without a word.
    for (const auto& b : *blocks) {
      auto kind = [](const std::string& n) {
        return n.ends_with("PRIVATE KEY") ? std::string("PRIVATE KEY")
               : n == "X509 CRL"          ? n
                                          : std::string("CERTIFICATE");
      };
      if (kind(b.name) != kind(name)) {
        return util::fail(source + " holds a " + name + " block and a " + b.name +
                          " block; convert takes one kind of object: split the file (one "
                          "certificate chain, key or CRL per file) and convert each");
      }
    }
    if (name == "CERTIFICATE" || name == "X509 CERTIFICATE" || name == "TRUSTED CERTIFICATE") {
      return convert_certificates(input, source, to);
    }
    if (name == "X509 CRL") return convert_crls(input, source, to);
    if (name.ends_with("PRIVATE KEY")) {
      return convert_key(input, source, to, password, password_advice);
    }
    return util::fail(source + ": cannot convert a " + name +
                      " block; expected a certificate, private key or CRL");
  }
  // DER carries no label: try each kind, most common first.
  if (auto certs = convert_certificates(input, source, to)) return certs;
  if (auto crls = convert_crls(input, source, to)) return crls;
  auto key = convert_key(input, source, to, password, password_advice);
  if (key || is_key_error(key.error(), source)) return key;
  clear_openssl_errors();
  return util::fail(source +
                    ": not a certificate, private key or CRL in PEM or DER; check that "
                    "this is the right file");
}

}  // namespace tlsgate::pki
