// HttpsSession: one blocking HTTP/1.1 connection, TLS or plaintext, to one
// server named by a base URL ("https://host:port" or "http://host:port"),
// for control-path clients that wait for their answer (the etcd client of
// cluster/etcd_store.h). The async OCSP client is net/http_client.h.
//
// The connection is made on first use and kept alive between requests
// (etcd's JSON gateway keeps it open); a kept connection the server closed
// meanwhile is replaced once, before any response byte was read. TLS: the
// client context comes from a function called at each connect, so a reload
// of the policy applies to the next connection; the server's chain is
// verified by that context, and its certificate must name the URL's host
// (DNS SAN, RFC 6125 left-most wildcard; an IP literal against IP SANs)
// unless the policy says verify_hostname=false, as for the gate's backends
// (tls/server_name.h); pins and allowed_identities apply (tls::check_peer).
//
// request() is the general form (GET, HEAD, POST with any Content-Type,
// the response's header fields returned): the ACME client of acme/ uses it.
// post() reads a whole response of any status under a deadline. stream()
// passes a 2xx response's body on as it arrives (chunked framing removed)
// until the server ends it, the handler fails, or `stop` is requested: a
// stop callback wakes the wait at once (an eventfd next to the socket in one
// poll(2)), so stream() returns within milliseconds of the request, without
// polling — while it connects, shakes hands or waits for data alike. TCP
// keep-alive probes (after 30 s idle, 3 x 10 s) end a stream whose server
// vanished without closing it. After stream() the connection is closed.
//
// Errors are one sentence that starts with the base URL and the step
// (connect, TLS handshake, send, read, status), with the server's words
// escaped and cut; the caller adds what to do about it. Name resolution uses
// the system resolver and is bounded neither by the deadline nor by stop.
//
// Thread: an HttpsSession is used by one thread at a time; different
// sessions are independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/dial.h"
#include "tls/context.h"
#include "util/peer_text.h"
#include "util/result.h"

namespace tlsgate::net {

// The client context for the next TLS connection; null when there is none
// (the connect then fails saying so).
using ClientContextSource = std::function<std::shared_ptr<const tls::Context>()>;

struct BaseUrl {
  bool tls = true;   // https
  std::string host;  // DNS name or IP literal (IPv6 without brackets)
  uint16_t port = 0;
  std::string text;  // "https://host:port", for messages
};

// "https://host:port" or "http://host:port", a trailing "/" allowed; the
// port may be left out (443, 80). The error quotes the input and says what
// form is expected.
util::Result<BaseUrl> parse_base_url(std::string_view text);

struct HttpReply {
  int status = 0;
  std::string body;
  // The response's header fields in order (request() fills them; post()
  // leaves them empty), names as the server wrote them.
  std::vector<std::pair<std::string, std::string>> headers;

  // The first field of that name (case-insensitive), or "".
  std::string header(std::string_view name) const;
  // Every field of that name, in order (Link may come several times).
  std::vector<std::string> all_headers(std::string_view name) const;
};

// A general request: GET, HEAD or POST (ACME's application/jose+json, and
// HEAD for its newNonce).
struct HttpRequest {
  std::string_view method = "GET";  // GET, HEAD or POST
  std::string_view target;          // "/path?query"
  std::string_view content_type;    // for a body; "" with GET and HEAD
  std::string_view body;
  std::string_view accept = "application/json";
};

// Peer text fit for a message (util/peer_text.h).
using util::quoted_peer_text;

// A client context that trusts the CA certificates of the PEM file
// ca_bundle (empty: the system's, /etc/ssl/certs), TLS 1.2 and up, the
// server's name checked by HttpsSession: for servers outside the config's
// policies (an ACME CA). The error names the file.
util::Result<std::shared_ptr<const tls::Context>> bundle_client_context(
    const std::filesystem::path& ca_bundle);

class HttpsSession {
 public:
  // tls_context is needed only for an https URL.
  HttpsSession(BaseUrl url, ClientContextSource tls_context);
  ~HttpsSession();
  HttpsSession(const HttpsSession&) = delete;
  HttpsSession& operator=(const HttpsSession&) = delete;

  const BaseUrl& url() const { return url_; }
  bool connected() const;

  // Connects (TCP, then TLS and the peer checks) unless already connected.
  util::Status connect(Deadline deadline);

  // POSTs body (Content-Type application/json) to target and reads the whole
  // response (a body above max_body is an error), all before deadline.
  util::Result<HttpReply> post(std::string_view target, std::string_view body, Deadline deadline,
                               size_t max_body);

  // Sends `request` and reads the whole response with its header fields (a
  // body above max_body is an error, a header above 16 KiB too), all before
  // deadline; keeps the connection like post().
  util::Result<HttpReply> request(const HttpRequest& request, Deadline deadline, size_t max_body);

  // POSTs body, waits until deadline for the response header, then calls
  // on_data with each piece of the body as it arrives, for as long as it
  // takes. Returns success when `stop` is requested (then at once) or the
  // server ended the body; on_data's error as it is; an error when the
  // status is not 2xx (with the start of the body) or the connection broke.
  util::Status stream(std::string_view target, std::string_view body, Deadline deadline,
                      const std::function<util::Status(std::string_view)>& on_data,
                      const std::stop_token& stop);

  // Closes the connection (the next call connects again).
  void close();

 private:
  struct Link;
  enum class Wait { kReady, kTimeout, kStopped };

  util::Status connect_link(Deadline deadline, int stop_fd);
  Wait wait(int want, Deadline deadline, int stop_fd);
  util::Status send_request(const HttpRequest& request, Deadline deadline);
  // Feeds Beast's `parser` until the message is complete (false), stop_fd
  // fires (true) or an error; before_put and after_put (may be empty) run
  // around each step of the parser.
  template <class Parser>
  util::Result<bool> read_response(Parser& parser, Deadline& deadline, int stop_fd, bool* got_bytes,
                                   const std::function<void()>& before_put,
                                   const std::function<util::Status()>& after_put);
  util::Error link_error(std::string_view step, std::string_view what);
  std::string refusal_hint() const;

  BaseUrl url_;
  ClientContextSource tls_context_;
  std::unique_ptr<Link> link_;
};

}  // namespace tlsgate::net
