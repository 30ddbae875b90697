#include "pki/pem_blocks.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>

#include "pki/handles.h"
#include "pki/openssl_error.h"

namespace tlsgate::pki {

util::Result<std::vector<PemBlock>> read_pem_blocks(std::string_view data) {
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) return util::fail(openssl_error("out of memory"));
  std::vector<PemBlock> blocks;
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* der = nullptr;
    long len = 0;
    clear_openssl_errors();
    int ok = PEM_read_bio(bio.get(), &name, &header, &der, &len);
    OpensslString owned_name(name), owned_header(header);
    OpensslBytes owned_der(der);
    if (ok != 1) {
      unsigned long err = ERR_peek_last_error();
      // "No start line" after at least one block, or on data with no block at all, is the end.
      if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
        clear_openssl_errors();
        return blocks;
      }
      std::string reasons = drain_openssl_errors();
      return util::fail(reasons.empty() ? std::string("unreadable PEM block") : reasons);
    }
    blocks.push_back(
        PemBlock{name, header ? header : "",
                 std::string(reinterpret_cast<const char*>(der), static_cast<size_t>(len))});
  }
}

bool is_blank(std::string_view data) {
  return std::all_of(data.begin(), data.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
}

bool looks_like_text(std::string_view data) {
  return std::all_of(data.begin(), data.end(), [](char c) {
    auto b = static_cast<unsigned char>(c);
    return b >= 0x20 || b == '\n' || b == '\r' || b == '\t';
  });
}

}  // namespace tlsgate::pki
