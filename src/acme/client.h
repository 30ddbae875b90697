// Client: the ACME protocol (RFC 8555) against one CA's directory —
// accounts (with External Account Binding), orders for DNS names and IP
// addresses (RFC 8738), TLS-ALPN-01 (RFC 8737) and HTTP-01 challenges, and
// renewal information (ARI, RFC 9773).
//
// Blocking: every call waits for the server, each HTTP exchange bounded by
// ClientOptions::request_timeout, every poll loop bounded in count and time
// and woken by `stop`. JSON is nlohmann-json, signatures OpenSSL (pki/jws.h),
// HTTP net::HttpsSession. Errors are one sentence: "ACME server URL: STEP:
// TYPE: DETAIL", the server's words quoted and escaped (net::quoted_peer_text);
// last_problem() keeps the last problem document the server sent.
//
// Challenges are answered by a ChallengeResponder: the gate for TLS-ALPN-01
// (on the connector's own port), HttpResponder for HTTP-01. obtain()
// withdraws what it published before it returns, success or not.
//
// Thread: a Client is used by one thread at a time (it keeps the nonce and
// the connections); different clients are independent. ChallengeResponder
// methods are called on that thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/https_session.h"
#include "pki/handles.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::acme {

enum class ChallengeKind { kTlsAlpn01, kHttp01 };

// "tls-alpn-01" or "http-01".
const char* challenge_type(ChallengeKind kind);

// Implemented by the gate (tls-alpn-01) or HttpResponder (http-01).
class ChallengeResponder {
 public:
  virtual ~ChallengeResponder() = default;
  // Answer this challenge from now on until withdraw(). identifier: DNS name
  // or IP literal as in the order.
  virtual util::Status publish(ChallengeKind kind, const std::string& identifier,
                               const std::string& token, const std::string& key_authorization) = 0;
  virtual void withdraw(ChallengeKind kind, const std::string& identifier,
                        const std::string& token) = 0;
};

struct ClientOptions {
  std::string directory_url;                 // https://host:port/dir
  std::filesystem::path ca_bundle;           // trust for the ACME server; empty: system trust
  std::chrono::seconds request_timeout{30};  // each HTTP exchange
  // How long obtain() waits for one authorization, then for the order: this
  // many request_timeouts (also bounded in polls, kMaxPolls).
  int poll_timeouts = 4;
};

struct ExternalAccountBinding {
  std::string key_id;
  std::string hmac_key;  // raw bytes, decoded from base64url
};

struct OrderInput {
  std::vector<std::string> identifiers;  // DNS names and IP literals (RFC 8738 "ip" type)
  ChallengeKind challenge = ChallengeKind::kTlsAlpn01;
  const EVP_PKEY* certificate_key = nullptr;  // the CSR is signed with it
  // ARI certificate id of the certificate being renewed (sent only when the
  // directory has renewalInfo).
  std::optional<std::string> replaces;
};

struct RenewalInfo {
  util::SystemTime window_start, window_end;
  std::chrono::seconds retry_after{21600};  // when to ask again (Retry-After, else 6 h)
  std::string explanation_url;
};

// A problem document (RFC 7807) the server answered with.
struct ProblemInfo {
  int http_status = 0;
  std::string type;    // "urn:ietf:params:acme:error:badNonce", ...
  std::string detail;  // as the server wrote it (unescaped; escape before printing)
  // The answer's Retry-After in seconds (rateLimited, 503), for the caller's backoff.
  std::optional<std::chrono::seconds> retry_after;
};

class Client {
 public:
  // Fetches the directory. account_key: P-256 (ES256) or RSA (RS256).
  static util::Result<std::unique_ptr<Client>> open(ClientOptions options,
                                                    pki::EvpPkeyPtr account_key);
  ~Client();

  // newAccount: an existing account of the key is found (onlyReturnExisting
  // first), else one is created, with EAB when given (an error when the
  // directory requires it and none is given). Returns the account URL (kid),
  // which later calls use.
  util::Result<std::string> register_account(const std::string& email,
                                             const std::optional<ExternalAccountBinding>& eab);

  // The whole issuance (register_account() first): newOrder, each
  // authorization's challenge published and answered, the authorizations
  // polled, finalize with a CSR, the order polled, the chain downloaded.
  // Returns the PEM chain, leaf first. A `replaces` refused with 409
  // alreadyReplaced is retried once without it; badNonce is retried with the
  // fresh nonce (bounded). `stop` ends the waits at once (an error).
  util::Result<std::string> obtain(const OrderInput& order, ChallengeResponder& responder,
                                   const std::stop_token& stop);

  bool has_renewal_info() const;
  util::Result<RenewalInfo> renewal_info(const X509* certificate);
  // base64url(AKI keyIdentifier) "." base64url(serial DER content bytes).
  static util::Result<std::string> ari_certificate_id(const X509* certificate);
  // A renewalInfo response body and its Retry-After header ("" if none).
  static util::Result<RenewalInfo> parse_renewal_info(std::string_view body,
                                                      std::string_view retry_after);

  const std::string& directory_url() const;
  const std::string& account_url() const { return account_url_; }
  // The problem document of the last failed request, if the server sent one.
  const std::optional<ProblemInfo>& last_problem() const { return last_problem_; }
  // Requests that failed with badNonce and were sent again (for tests, metrics).
  int bad_nonce_retries() const { return bad_nonce_retries_; }

 private:
  struct Directory {
    std::string new_nonce, new_account, new_order, renewal_info;
    bool external_account_required = false;
  };
  struct Reply {
    net::HttpReply http;
    nlohmann::json json;  // the body when it is JSON, else null
  };

  Client(ClientOptions options, pki::EvpPkeyPtr key, std::shared_ptr<const tls::Context> tls);

  util::Error error(std::string_view step, std::string_view what) const;
  util::Result<net::HttpReply> exchange(const net::HttpRequest& request, const std::string& url,
                                        std::string_view step, size_t max_body);
  util::Result<std::string> fresh_nonce(std::string_view step);
  // A signed POST (payload null: POST-as-GET) with the account's kid, or
  // with its jwk when use_jwk. Statuses >= 400 become errors (problem).
  util::Result<Reply> post(const std::string& url, const std::optional<nlohmann::json>& payload,
                           std::string_view step, bool use_jwk = false,
                           std::string_view accept = "application/json",
                           size_t max_body = kMaxJsonBody);
  util::Result<std::string> obtain_once(const OrderInput& order, bool with_replaces,
                                        ChallengeResponder& responder, const std::stop_token& stop);

  static constexpr size_t kMaxJsonBody = size_t{256} * 1024;

  ClientOptions options_;
  pki::EvpPkeyPtr key_;
  std::shared_ptr<const tls::Context> tls_;
  std::map<std::string, std::unique_ptr<net::HttpsSession>> sessions_;  // by base URL
  Directory directory_;
  std::string account_url_;
  std::string nonce_;
  std::string thumbprint_;
  std::optional<ProblemInfo> last_problem_;
  int bad_nonce_retries_ = 0;
};

}  // namespace tlsgate::acme
