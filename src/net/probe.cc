#include "net/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>

#include "net/dial.h"
#include "net/probe_io.h"
#include "net/probe_plaintext.h"
#include "pki/certificate_info.h"
#include "pki/ocsp.h"
#include "pki/openssl_error.h"
#include "tls/failure_reason.h"
#include "tls/probe_verdict.h"
#include "tls/server_name.h"
#include "tls/ssl_handles.h"
#include "util/strings.h"

namespace tlsgate::net {
namespace {

using Clock = std::chrono::steady_clock;

// The first bytes the server sent over TLS are kept: enough to tell a
// plaintext port (an HTTP or NATS answer) from a TLS peer.
constexpr size_t kFirstBytes = 64;
constexpr std::chrono::milliseconds kLineWait{300};

// What the callbacks of one connection learn.
struct ConnState {
  bool cert_request = false;   // a CertificateRequest arrived
  tls::SslSessionPtr session;  // the first session the server gave us
  std::string first_bytes;     // the first kFirstBytes the server sent after STARTTLS
};

// The socket BIO's reads, seen before OpenSSL's record layer judges them.
long on_bio(BIO* bio, int oper, const char* argp, size_t /*len*/, int /*argi*/, long /*argl*/,
            int ret, size_t* processed) {
  if ((oper & BIO_CB_RETURN) == 0) return 1;  // before the operation: let it run
  auto* state = reinterpret_cast<ConnState*>(BIO_get_callback_arg(bio));
  if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && state != nullptr && argp != nullptr &&
      processed != nullptr && state->first_bytes.size() < kFirstBytes) {
    state->first_bytes.append(argp, std::min(*processed, kFirstBytes - state->first_bytes.size()));
  }
  return ret;
}

// The server asked for a client certificate and this client had none to send.
bool certificate_unanswered(SSL* ssl, const ConnState& state) {
  return state.cert_request && SSL_get_certificate(ssl) == nullptr;
}

// A server that answered in plaintext, not TLS (its first bytes cannot
// start a TLS record); nullopt for a TLS peer. OpenSSL read only a record
// header's 5 bytes: the rest of the first line is read here, briefly, for
// the sentence to quote.
std::optional<ProbeFailure> plaintext_failure(const ProbeOptions& o, int fd, ConnState& state) {
  if (!plaintext_protocol(state.first_bytes)) return std::nullopt;
  pki::clear_openssl_errors();
  auto deadline = Clock::now() + std::min<std::chrono::milliseconds>(o.timeout, kLineWait);
  std::string& got = state.first_bytes;
  for (int i = 0; i < 16 && got.size() < kFirstBytes && got.find('\n') == std::string::npos; ++i) {
    auto more = read_some(fd, kFirstBytes - got.size(), deadline);
    if (!more) break;
    got += *more;
  }
  return ProbeFailure{ProbeStep::kHandshake, std::string(kPlaintextPeerReason),
                      explain_plaintext_peer(got, config::to_string(o.target),
                                             o.starttls != StartTlsProtocol::kNone)};
}

int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* state = static_cast<ConnState*>(SSL_get_app_data(ssl));
  if (state == nullptr || state->session) return 0;
  state->session.reset(session);
  return 1;  // we keep the reference
}

std::string time_text(const ASN1_GENERALIZEDTIME* t) {
  return t == nullptr ? "" : pki::format_time(pki::to_system_time(t));
}

// The certificate that issued the leaf: from the verified chain, else among
// those the server sent (a staple can be checked even when the chain did not
// reach --ca); null when neither has it.
const X509* issuer_of_leaf(SSL* ssl, const X509* leaf) {
  std::vector<STACK_OF(X509)*> chains = {SSL_get0_verified_chain(ssl),
                                         SSL_get_peer_cert_chain(ssl)};
  for (STACK_OF(X509) * chain : chains) {
    for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
      X509* c = sk_X509_value(chain, i);
      if (X509_cmp(c, leaf) != 0 && X509_check_issued(c, pki::unconst(leaf)) == X509_V_OK) {
        return c;
      }
    }
  }
  pki::clear_openssl_errors();
  return nullptr;
}

// What the server stapled, checked as the gate checks a response before it
// staples one (pki/ocsp.h): a staple anyone could have signed says nothing.
OcspStaple read_staple(SSL* ssl) {
  OcspStaple out;
  const unsigned char* der = nullptr;
  long len = SSL_get_tlsext_status_ocsp_resp(ssl, &der);
  if (der == nullptr || len <= 0) return out;
  out.stapled = true;
  const X509* leaf = SSL_get0_peer_certificate(ssl);
  const X509* issuer = leaf != nullptr ? issuer_of_leaf(ssl, leaf) : nullptr;
  if (issuer == nullptr) {
    out.problem =
        "the leaf's issuer is neither in the chain the server sent nor in the trust "
        "used, so the staple cannot be checked";
  } else {
    auto answer = pki::verify_ocsp_response(
        std::string_view(reinterpret_cast<const char*>(der), static_cast<size_t>(len)), leaf,
        issuer, util::SystemClock::instance().now());
    out.verified = static_cast<bool>(answer);
    if (answer) {
      // The leaf's own entry, which need not be the response's first.
      out.response_status = "successful";
      out.cert_status = pki::status_name(answer->status);
      if (answer->status == pki::OcspAnswer::Status::kRevoked) {
        out.revocation_reason = pki::revocation_reason_name(answer->reason);
      }
      out.this_update = pki::format_time(answer->this_update);
      out.next_update = answer->next_update ? pki::format_time(*answer->next_update) : "";
      return out;
    }
    out.problem = answer.error().message();
  }
  std::unique_ptr<OCSP_RESPONSE, pki::Free<OCSP_RESPONSE_free>> resp(
      d2i_OCSP_RESPONSE(nullptr, &der, len));
  if (!resp) {
    out.response_status = "malformed";
    return out;
  }
  out.response_status = OCSP_response_status_str(OCSP_response_status(resp.get()));
  std::unique_ptr<OCSP_BASICRESP, pki::Free<OCSP_BASICRESP_free>> basic(
      OCSP_response_get1_basic(resp.get()));
  if (!basic || OCSP_resp_count(basic.get()) < 1) return out;
  OCSP_SINGLERESP* single = OCSP_resp_get0(basic.get(), 0);
  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  int status = OCSP_single_get0_status(single, &reason, &revoked, &this_update, &next_update);
  out.cert_status = OCSP_cert_status_str(status);
  if (status == V_OCSP_CERTSTATUS_REVOKED && reason >= 0) {
    out.revocation_reason = OCSP_crl_reason_str(reason);
  }
  out.this_update = time_text(this_update);
  out.next_update = time_text(next_update);
  return out;
}

// A chain that verified, and a staple that does not, or that says revoked:
// the verdict fails (Firefox, for one, refuses a server whose staple does
// not verify).
void judge_staple(ProbeReport& r) {
  if (!r.ocsp.verified) {
    r.verified = false;
    r.verify_reason = std::string(tls::reason_name(tls::FailureReason::kRevocationUnknown));
    r.verify_message = r.target +
                       " staples an OCSP response that does not verify: " + r.ocsp.problem +
                       "; clients that check staples refuse it: have the server fetch a fresh "
                       "response from its CA's responder";
  } else if (r.ocsp.cert_status == "revoked") {
    r.verified = false;
    r.verify_reason = std::string(tls::reason_name(tls::FailureReason::kRevoked));
    r.verify_message = r.target + "'s own stapled OCSP response says its certificate " +
                       pki::subject_of(r.chain.front().get()) + " is revoked (" +
                       r.ocsp.revocation_reason + "); install a new certificate";
  }
}

// The client context of every connection of one probe.
tl::expected<tls::SslCtxPtr, ProbeFailure> make_context(const ProbeOptions& o,
                                                        const std::string& trust) {
  pki::clear_openssl_errors();
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  auto fail = [](const std::string& what) {
    return tl::unexpected(probe_failure(ProbeStep::kHandshake, tls::FailureReason::kOther,
                                        pki::openssl_error(what).message()));
  };
  if (!ctx) return fail("cannot create a TLS client");
  if (o.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) return fail("cannot read " + trust);
  } else if (SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1) {
    return fail("cannot read --ca " + o.ca_file.string());
  }
  if (!o.cert_file.empty()) {
    if (auto used = use_client_certificate(ctx.get(), o.cert_file, o.key_file); !used) {
      return tl::unexpected(
          probe_failure(ProbeStep::kHandshake, tls::FailureReason::kOther, used.error()));
    }
  }
  // Verification is recorded, not enforced: the report shows the chain either way.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx.get(),
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx.get(), on_new_session);
  return ctx;
}

struct Connection {
  Channel channel;
  tls::SslPtr ssl;
  ConnState state;
};

// Opens a channel and runs the TLS handshake on it; `resume` is offered when given.
tl::expected<void, ProbeFailure> connect_tls(const ProbeOptions& o, SSL_CTX* ctx,
                                             const std::string& name, SSL_SESSION* resume,
                                             Connection& c, std::vector<Fact>* facts) {
  auto deadline = Clock::now() + o.timeout;
  auto channel = open_channel(o, deadline, facts);
  if (!channel) return tl::unexpected(channel.error());
  c.channel = std::move(*channel);
  if (facts != nullptr) *facts = c.channel.pre_tls;
  const std::string peer = config::to_string(o.target);
  pki::clear_openssl_errors();
  c.ssl.reset(SSL_new(ctx));
  if (!c.ssl || SSL_set_fd(c.ssl.get(), c.channel.fd.get()) != 1) {
    return tl::unexpected(
        probe_failure(ProbeStep::kHandshake, tls::FailureReason::kOther,
                      pki::openssl_error("cannot create a TLS client").message()));
  }
  SSL* ssl = c.ssl.get();
  SSL_set_app_data(ssl, &c.state);
  watch_certificate_request(ssl, &c.state.cert_request);
  BIO_set_callback_ex(SSL_get_rbio(ssl), on_bio);
  BIO_set_callback_arg(SSL_get_rbio(ssl), reinterpret_cast<char*>(&c.state));
  tls::set_sni(ssl, name);
  tls::expect_name(SSL_get0_param(ssl), name);
  SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
  if (o.starttls == StartTlsProtocol::kPostgres) {
    static constexpr unsigned char kAlpn[] = "\x0apostgresql";
    SSL_set_alpn_protos(ssl, kAlpn, sizeof kAlpn - 1);
  }
  if (resume != nullptr) SSL_set_session(ssl, resume);
  for (int i = 0; i < 10000; ++i) {  // bounded by the deadline as well
    pki::clear_openssl_errors();
    int rc = SSL_connect(ssl);
    if (rc == 1) return {};
    int err = SSL_get_error(ssl, rc);
    Io want = err == SSL_ERROR_WANT_READ    ? Io::kWantRead
              : err == SSL_ERROR_WANT_WRITE ? Io::kWantWrite
                                            : Io::kError;
    if (want == Io::kError) {
      if (auto plain = plaintext_failure(o, c.channel.fd.get(), c.state))
        return tl::unexpected(*plain);
      auto v = tls::explain_probe_handshake(ssl, peer, certificate_unanswered(ssl, c.state));
      return tl::unexpected(
          ProbeFailure{ProbeStep::kHandshake, std::string(tls::reason_name(v.reason)), v.message});
    }
    if (!wait_ready(c.channel.fd.get(), want, deadline)) break;
  }
  // A few bytes of text and then silence ("-ERR" without its line end) is no TLS peer either.
  if (auto plain = plaintext_failure(o, c.channel.fd.get(), c.state)) return tl::unexpected(*plain);
  return tl::unexpected(
      probe_failure(ProbeStep::kHandshake, tls::FailureReason::kTimeout,
                    peer + " did not finish the TLS handshake within " + seconds_text(o.timeout)));
}

// After the handshake: reads what the server sends on its own (TLS 1.3
// session tickets, or the alert of a server that wanted a client certificate)
// until a session arrived, up to `wait`. A failure when the server ended the
// connection with an alert.
// A close without close_notify right after the handshake is no refusal:
// a server with no tickets to send, or the gate whose backend is down. An
// alert is (a TLS 1.3 server that wanted a client certificate says so here).
// Sets *closed when the server hung up.
std::optional<ProbeFailure> settle(Connection& c, const std::string& peer,
                                   std::chrono::milliseconds wait, bool* closed) {
  SSL* ssl = c.ssl.get();
  auto deadline = Clock::now() + wait;
  char buf[4096];
  for (int i = 0; i < 1000 && !c.state.session; ++i) {
    pki::clear_openssl_errors();
    int rc = SSL_read(ssl, buf, sizeof buf);
    if (rc > 0) continue;  // the server spoke first (its banner); not ours to read
    int err = SSL_get_error(ssl, rc);
    if (err == SSL_ERROR_WANT_READ) {
      if (!wait_ready(c.channel.fd.get(), Io::kWantRead, deadline)) break;
      continue;
    }
    if (err == SSL_ERROR_SSL &&
        ERR_GET_REASON(ERR_peek_last_error()) != SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      auto v = tls::explain_probe_handshake(ssl, peer, certificate_unanswered(ssl, c.state));
      return ProbeFailure{ProbeStep::kHandshake, std::string(tls::reason_name(v.reason)),
                          v.message};
    }
    *closed = true;  // nothing more to learn
    break;
  }
  pki::clear_openssl_errors();
  return std::nullopt;
}

void try_resumption(const ProbeOptions& o, SSL_CTX* ctx, const std::string& name,
                    tls::SslSessionPtr session, Resumption& out) {
  if (!session || SSL_SESSION_is_resumable(session.get()) != 1) {
    out.detail = "the server issued no session ticket or session ID";
    return;
  }
  bool ticket = SSL_SESSION_has_ticket(session.get()) == 1;
  out.attempted = true;
  Connection c;
  auto done = connect_tls(o, ctx, name, session.get(), c, nullptr);
  if (!done) {
    out.detail = "the second connection failed: " + done.error().message;
    return;
  }
  out.resumed = SSL_session_reused(c.ssl.get()) == 1;
  out.method = out.resumed ? (ticket ? "tickets" : "session IDs") : "";
  out.detail = out.resumed ? ""
                           : std::string("the server did not accept the ") +
                                 (ticket ? "session ticket" : "session ID") +
                                 " it issued; it made a full handshake";
  SSL_shutdown(c.ssl.get());
}

}  // namespace

ProbeReport run_probe(const ProbeOptions& o) {
  ProbeReport r;
  r.target = config::to_string(o.target);
  r.server_name = o.server_name.empty() ? o.target.host : o.server_name;
  r.sni_sent = !r.server_name.empty() && !tls::is_ip_literal(r.server_name);
  r.starttls = o.starttls;
  r.trust = o.ca_file.empty() ? "the system store" : "--ca " + o.ca_file.string();

  auto ctx = make_context(o, r.trust);
  if (!ctx) {
    r.failure = ctx.error();
    return r;
  }
  Connection c;
  auto done = connect_tls(o, ctx->get(), r.server_name, nullptr, c, &r.pre_tls);
  r.address = c.channel.address;
  SSL* ssl = c.ssl.get();
  if (ssl != nullptr) {
    STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl);
    for (int i = 0; sent != nullptr && i < sk_X509_num(sent); ++i) {
      r.chain.push_back(pki::up_ref(sk_X509_value(sent, i)));
    }
    r.client_cert_requested = c.state.cert_request;
  }
  if (!done) {
    r.failure = done.error();
    return r;
  }
  r.handshake_done = true;
  r.version = SSL_get_version(ssl);
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) {
    r.cipher = SSL_CIPHER_standard_name(cipher);
    r.cipher_openssl = SSL_CIPHER_get_name(cipher);
  }
  r.group = negotiated_group(ssl);
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn != nullptr) r.alpn = printable({reinterpret_cast<const char*>(alpn), alpn_len});
  r.ocsp = read_staple(ssl);

  // TLS 1.3 sends tickets, and refuses a missing client certificate, after the handshake.
  const std::string peer = r.target;
  std::optional<ProbeFailure> late;
  bool closed = false;
  if (SSL_version(ssl) >= TLS1_3_VERSION) {
    late = settle(c, peer,
                  std::min<std::chrono::milliseconds>(o.timeout, std::chrono::milliseconds(500)),
                  &closed);
  }
  r.client_cert_requested = c.state.cert_request;
  if (STACK_OF(X509_NAME)* names = SSL_get_client_CA_list(ssl)) {
    for (int i = 0; i < sk_X509_NAME_num(names); ++i) {
      r.client_ca_names.push_back(pki::name_to_string(sk_X509_NAME_value(names, i)));
    }
  }
  r.client_cert_sent = r.client_cert_requested && SSL_get_certificate(ssl) != nullptr;
  if (!c.state.session) c.state.session.reset(SSL_get1_session(ssl));

  long verify = r.chain.empty() ? X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT : SSL_get_verify_result(ssl);
  r.verified = !r.chain.empty() && verify == X509_V_OK;
  if (r.verified && r.ocsp.stapled) judge_staple(r);
  if (!r.verified && r.verify_reason.empty()) {
    auto v = tls::explain_probe_verify(verify, r.chain.empty() ? nullptr : r.chain.front().get(),
                                       r.server_name, r.trust);
    if (r.chain.empty()) v.message = peer + " sent no certificate";
    r.verify_reason = tls::reason_name(v.reason);
    r.verify_message = v.message;
  }
  SSL_shutdown(ssl);
  // Single-connection servers (s_server) take the next one only after this one ends.
  c.ssl.reset();
  c.channel.fd.reset();
  if (late) {
    r.failure = *late;
    r.resumption.detail = "not tried: the server refused this client after the handshake";
    return r;
  }
  try_resumption(o, ctx->get(), r.server_name, std::move(c.state.session), r.resumption);
  if (closed && !r.resumption.attempted) {
    r.resumption.detail =
        "the server closed the connection right after the handshake, before "
        "any session ticket (a gate whose backend is down does so)";
  }
  if (!r.verified)
    r.failure = ProbeFailure{ProbeStep::kVerification, r.verify_reason, r.verify_message};
  return r;
}

}  // namespace tlsgate::net
