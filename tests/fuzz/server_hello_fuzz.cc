// parse_server_hello (tls/client_hello.h): whatever a server answers to our
// own ClientHello, fed as it arrives. The input is the server's bytes; every
// prefix is parsed too, as the prober does after each read. The same bytes
// go to probe's plaintext diagnosis (net/probe_plaintext.h), whose sentence
// quotes them: it must hold no byte that could drive a terminal.
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "net/probe_plaintext.h"
#include "tls/client_hello.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tlsgate::tls::ServerHelloResult;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  bool settled = false;
  ServerHelloResult last;
  for (size_t n = 0; n <= in.size(); n += 1 + n / 8) {
    auto r = tlsgate::tls::parse_server_hello(in.substr(0, n));
    if (r.kind == ServerHelloResult::Kind::kMalformed) FUZZ_CHECK(!r.error.empty());
    if (settled) {
      // An answer, once settled, is not changed by more bytes.
      FUZZ_CHECK(r.kind == last.kind && r.suite == last.suite && r.version == last.version);
    }
    if (r.kind != ServerHelloResult::Kind::kNeedMore) {
      settled = true;
      last = r;
    }
  }
  if (auto looks_like = tlsgate::net::plaintext_protocol(in)) {
    FUZZ_CHECK(!looks_like->empty());
    for (bool starttls_done : {false, true}) {
      auto text = tlsgate::net::explain_plaintext_peer(in, "127.0.0.1:5432", starttls_done);
      for (unsigned char c : text) FUZZ_CHECK(c >= 0x20 && c != 0x7f);
    }
  }
  return 0;
}
