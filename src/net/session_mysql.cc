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

namespace {

// A backend that closes before its OK: often one that does not take the
// PROXY header it was sent first (MariaDB without proxy_protocol_networks).
std::string backend_gone(const ConnectorRuntime& connector) {
  std::string text = "MySQL backend " + config::to_string(connector.settings.upstream_address) +
                     " closed the connection during the connection phase";
  if (connector.settings.proxy_protocol == config::ProxyProtocol::kV2) {
    text += "; does it accept the PROXY v2 header the gate sends (connector." +
            connector.settings.name + ".proxy_protocol=v2; MariaDB: proxy_protocol_networks)?";
  }
  return text;
}

}  // namespace

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
        if (to_client) return finish("client went away during the MySQL connection phase");
        return fail_upstream(tls::FailureReason::kOther, backend_gone(connector_));
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
      // The map binds the session, not only its login.
      if (connector_.user_map) mysql_relay_ = std::make_unique<MysqlRelay>();
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
    return fail_upstream(tls::FailureReason::kOther, backend_gone(connector_));
  }
  std::string_view bytes(buf.data(), r.bytes);
  auto step = from_client ? mysql_->from_client(bytes) : mysql_->from_backend(bytes);
  util::wipe(buf.data(), r.bytes);  // may have held a clear password
  mysql_apply(std::move(step));
}

// The server runs a COM_CHANGE_USER only once its packet is complete, and
// its user name comes before the end: checked here, before these bytes are
// forwarded, a refused one never takes effect.
bool Session::mysql_follow(std::string_view bytes) {
  while (auto change = mysql_relay_->commands.next_change_user(bytes)) {
    std::string refusal;
    auto& earlier = mysql_relay_->earlier_users;
    // Whether a reload would check the current user without a new entry.
    bool remembered = !db_user_ || *db_user_ == change->user ||
                      std::find(earlier.begin(), earlier.end(), *db_user_) != earlier.end();
    if (change->too_long) {
      refusal = fmt::format("tlsgate: a user name longer than {} bytes is not accepted",
                            starttls::kMaxMysqlUserName);
    } else if (!remembered && earlier.size() == kMaxMysqlEarlierUsers) {
      refusal = fmt::format(
          "tlsgate: more than {} different users in one session; reconnect to log in as {}",
          kMaxMysqlEarlierUsers + 1, change->user);
    } else {
      if (!remembered) earlier.push_back(*db_user_);
      refusal = user_refusal(change->user);
    }
    if (refusal.empty()) {
      log(spdlog::level::debug, "COM_CHANGE_USER to MySQL user \"{}\" allowed by the user_map",
          change->user);
      continue;
    }
    // The answer to a command (sequence id 0) is 1; as the login's refusal.
    // MySQL is request and answer: a client sends a command once it has read
    // the last answer whole, so the backend's side is between packets here
    // (one that pipelines anyway may read this ERR inside a row, its loss).
    auto err = starttls::mysql_err_packet(1, starttls::kErAccessDenied, "28000", refusal);
    client_.write(err.data(), err.size());  // best effort: the session ends here
    refuse_client(
        tls::FailureReason::kUserNotMapped,
        fmt::format("COM_CHANGE_USER to MySQL user \"{}\" refused: {}", change->user, refusal));
    return false;
  }
  return true;
}

}  // namespace tlsgate::net
