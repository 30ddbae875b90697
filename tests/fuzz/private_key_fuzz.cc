// parse_private_key (pki/private_key_loader.h) on arbitrary PEM or DER: PKCS#1, PKCS#8,
// encrypted PKCS#8, legacy encrypted PEM, with no password, the right one
// ("fuzz", as the generated seeds use) or a wrong one.
//
// Input: one option byte (password choice), then the key file's bytes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "pki/encode.h"
#include "pki/private_key_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsgate;
  if (size == 0) return 0;
  std::optional<util::Secret> password;
  switch (data[0] % 3) {
    case 0:
      break;
    case 1:
      password = util::Secret("fuzz");
      break;
    default:
      password = util::Secret("wrong");
      break;
  }
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto key = pki::parse_private_key(in, "fuzz.key", password);
  if (!key) {
    FUZZ_CHECK(key.error().message().rfind("fuzz.key: ", 0) == 0);
    return 0;
  }
  FUZZ_CHECK(*key != nullptr);
  // What `cert convert` writes: PKCS#8 DER that reads back as the same key.
  auto der = pki::private_key_der(key->get());
  FUZZ_CHECK(der.has_value());
  auto again = pki::parse_private_key(*der, "fuzz.der", std::nullopt);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(EVP_PKEY_eq(key->get(), again->get()) == 1);
  return 0;
}
