// Session phases for protocol=mysql: the connection phase between the
// backend's greeting and its OK (net/starttls/mysql.h decides, this file does
// the I/O). Each step's bytes are written out in full, client first, before
// the session acts on what the step says comes next.
#include <algorithm>
#include <array>

#include "net/session.h"
#include "pki/openssl_error.h"
#include "util/secret.h"

namespace tlsgate::net {

using MysqlNext = starttls::MysqlStep::Next;

void Session::mysql_apply(starttls::MysqlStep step) {
  mysql_step_ = std::move(step);
  mysql_flush();
}

void Session::mysql_flush() {
  for (bool to_client : {true, false}) {
    std::string& out = to_client ? mysql_step_.to_client : mysql_step_.to_backend;
    Stream& s = to_client ? client_ : *upstream_;
    while (!out.empty()) {
      auto r = s.write(out.data(), out.size());
      if (r.status == Io::kOk) {
        out.erase(0, r.bytes);
      } else if (r.status == Io::kWantRead || r.status == Io::kWantWrite) {
        return wait(s, r.status, &Session::mysql_flush);
      } else if (mysql_step_.next == MysqlNext::kClose) {
        break;  // closing anyway: the refusal could not be delivered
      } else {
        pki::clear_openssl_errors();
        return finish(to_client ? "client went away during the MySQL connection phase"
                                : "MySQL backend " +
                                      config::to_string(connector_.settings.upstream_address) +
                                      " went away during the connection phase");
      }
    }
  }
  mysql_act();
}

void Session::mysql_act() {
  switch (mysql_step_.next) {
    case MysqlNext::kReadBackend:
      return mysql_read_backend();
    case MysqlNext::kReadClient:
      return mysql_read_client();
    case MysqlNext::kClientTls:
      return start_client_tls();  // then on_client_ready() -> client_tls_ready()
    case MysqlNext::kBackendTls:
      return start_upstream_tls();  // then upstream_handshake() -> backend_tls_ready()
    case MysqlNext::kRelay:
      mysql_.reset();
      return on_upstream_ready();
    case MysqlNext::kClose:
      if (mysql_step_.refused_plaintext) {
        connector_.stats.plaintext_refused.fetch_add(1, std::memory_order_relaxed);
      }
      return refuse_client(mysql_step_.refused_plaintext ? tls::FailureReason::kPlaintextRefused
                           : user_refused_               ? tls::FailureReason::kUserNotMapped
                                                         : tls::FailureReason::kOther,
                           mysql_step_.reason);
  }
}

// Reads no more than completes the awaited packet: after a client's SSL
// Request its ClientHello is already in the socket, for OpenSSL to read.
void Session::mysql_read(bool from_client) {
  Stream& s = from_client ? client_ : *upstream_;
  std::array<char, 4096> buf{};
  size_t want = from_client ? mysql_->client_bytes_wanted() : mysql_->backend_bytes_wanted();
  auto r = s.read(buf.data(), std::min(want, buf.size()));
  if (r.status == Io::kWantRead || r.status == Io::kWantWrite) {
    return wait(s, r.status,
                from_client ? &Session::mysql_read_client : &Session::mysql_read_backend);
  }
  if (r.status != Io::kOk) {
    pki::clear_openssl_errors();
    if (from_client) {
      return finish("client closed the connection during the MySQL connection phase");
    }
    return fail_backend(tls::FailureReason::kOther,
                        "MySQL backend " + config::to_string(connector_.settings.upstream_address) +
                            " closed the connection during the connection phase",
                        false);
  }
  std::string_view bytes(buf.data(), r.bytes);
  auto step = from_client ? mysql_->from_client(bytes) : mysql_->from_backend(bytes);
  util::wipe(buf.data(), r.bytes);  // may have held a clear password
  mysql_apply(std::move(step));
}

}  // namespace tlsgate::net
