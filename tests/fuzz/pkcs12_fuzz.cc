// read_pkcs12 (pki/pkcs12.h) on arbitrary bytes, with the password the
// generated seeds use ("fuzz"), an empty one or a wrong one.
//
// Input: one option byte (password choice), then the store's bytes.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "pki/pkcs12.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsgate;
  if (size == 0) return 0;
  static const char* const kPasswords[] = {"fuzz", "", "wrong"};
  util::Secret password(kPasswords[data[0] % 3]);
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto store = pki::read_pkcs12(in, "fuzz.p12", password);
  if (!store) {
    FUZZ_CHECK(store.error().message().rfind("fuzz.p12: ", 0) == 0);
    return 0;
  }
  for (const auto& c : store->chain) FUZZ_CHECK(c != nullptr);
  return 0;
}
