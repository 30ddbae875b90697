#include "tls/context.h"

#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <fmt/format.h>

#include "pki/loader.h"
#include "pki/ocsp.h"
#include "pki/openssl_error.h"
#include "pki/pin.h"
#include "pki/private_key_loader.h"
#include "tls/known_peers.h"
#include "tls/openssl_names.h"
#include "tls/password.h"
#include "tls/policy_key.h"
#include "tls/revalidate.h"

namespace tlsgate::tls {
namespace {

// Frees the rejected certificate remember_rejected() parked on an SSL.
void free_rejected(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                   void* /*argp*/) {
  pki::X509Ptr owned(static_cast<X509*>(ptr));
}

int rejected_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_rejected);
  return index;
}

// OpenSSL keeps a peer's certificate only once it verified; remember the
// one it rejected so the failure can be explained with its subject.
void remember_rejected(X509_STORE_CTX* ctx) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  X509* leaf = X509_STORE_CTX_get0_cert(ctx);
  if (ssl == nullptr || leaf == nullptr || SSL_get_ex_data(ssl, rejected_index()) != nullptr)
    return;
  SSL_set_ex_data(ssl, rejected_index(), pki::up_ref(leaf).release());
}

// What the verify callbacks of a context need to know of its CRLs; owned by
// the ex_data of the SSL_CTX's X509_STORE, so it lives as long as the store,
// and a verification on that store outside a handshake finds it too.
struct CrlCheck {
  config::StaleCrl stale_crl = config::StaleCrl::kWarn;
  std::shared_ptr<CrlCounters> counters;  // Context::crl_counters
  // implicit_trust_renewed: every certificate of trusted_dir. A peer leaf
  // with one's public key and issuer is its renewal, and trusted as it was
  // (a peer trusted by its exact, often self-signed, certificate).
  struct TrustedLeaf {
    pki::X509Ptr cert;
    std::string spki;  // raw SHA-256 of the SubjectPublicKeyInfo
    pki::X509NamePtr issuer;
    std::string description;  // "CN=node1 (serial 1f, trusted_dir/node1.crt)"
  };
  std::vector<TrustedLeaf> renewable;
  // known_peers: when not empty, the leaf must carry one of these names
  // (tls/known_peers.h) on top of a verified chain.
  std::vector<std::string> known_peers;
};

void free_crl_check(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                    void* /*argp*/) {
  std::unique_ptr<CrlCheck> owned(static_cast<CrlCheck*>(ptr));
}

int crl_check_index() {
  static const int index =
      X509_STORE_get_ex_new_index(0, nullptr, nullptr, nullptr, free_crl_check);
  return index;
}

int renewed_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// A leaf that no trusted CA vouches for, but that renews a trusted leaf:
// the same public key and the same issuer (RavenDB's implicit trust). Its
// own validity dates are still checked by OpenSSL.
bool accept_renewal(X509_STORE_CTX* ctx, int error) {
  if (X509_STORE_CTX_get_error_depth(ctx) != 0) return false;
  if (error != X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT &&
      error != X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY &&
      error != X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT &&
      error != X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE && error != X509_V_ERR_CERT_UNTRUSTED) {
    return false;
  }
  const auto* check = static_cast<const CrlCheck*>(
      X509_STORE_get_ex_data(X509_STORE_CTX_get0_store(ctx), crl_check_index()));
  if (check == nullptr || check->renewable.empty()) return false;
  X509* leaf = X509_STORE_CTX_get_current_cert(ctx);
  if (leaf == nullptr) return false;
  const auto spki = pki::spki_sha256(leaf);
  for (const auto& t : check->renewable) {
    if (t.spki != spki || X509_NAME_cmp(t.issuer.get(), X509_get_issuer_name(leaf)) != 0) continue;
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (ssl != nullptr && X509_cmp(leaf, t.cert.get()) != 0) {  // not the trusted one itself
      SSL_set_ex_data(ssl, renewed_index(), const_cast<std::string*>(&t.description));
    }
    return true;
  }
  return false;
}

void free_crl(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
              void* /*argp*/) {
  pki::X509CrlPtr owned(static_cast<X509_CRL*>(ptr));
}

// The CRL whose dates made a connection's chain verification refuse the
// peer: refusing_crl(). Verification stops there, so there is one at most.
int refusing_crl_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_crl);
  return index;
}

// Set (to a marker, owning nothing) when stale_crl=WARN forgave a stale CRL.
int forgave_stale_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
int forgave_stale_marker = 0;

void remember_refusing_crl(SSL* ssl, X509_CRL* crl) {
  if (ssl == nullptr || crl == nullptr || SSL_get_ex_data(ssl, refusing_crl_index()) != nullptr)
    return;
  X509_CRL_up_ref(crl);
  SSL_set_ex_data(ssl, refusing_crl_index(), pki::X509CrlPtr(crl).release());
}

const CrlCheck* crl_check_of(X509_STORE_CTX* ctx) {
  return static_cast<const CrlCheck*>(
      X509_STORE_get_ex_data(X509_STORE_CTX_get0_store(ctx), crl_check_index()));
}

// known_peers, once the leaf is otherwise accepted: false (and the error
// set) when the policy lists names and the leaf carries none of them.
bool leaf_is_known(X509_STORE_CTX* ctx) {
  const CrlCheck* check = crl_check_of(ctx);
  if (check == nullptr || check->known_peers.empty()) return true;
  X509* leaf = X509_STORE_CTX_get0_cert(ctx);
  if (peer_is_known(leaf, check->known_peers)) return true;
  X509_STORE_CTX_set_error_depth(ctx, 0);
  X509_STORE_CTX_set_current_cert(ctx, leaf);
  X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
  remember_rejected(ctx);
  return false;
}

// A CA for which revoked_dir holds no CRL is not an error: revocation is
// checked where a CRL exists (the leaf's and the chain's issuers alike).
// A CRL past its nextUpdate is forgiven under stale_crl=WARN: OpenSSL goes on
// to use it, so the certificates it lists are still refused (icinga2 #8501:
// a stale CRL must not take the service down).
int verify_peer(int ok, X509_STORE_CTX* ctx) {
  int error = X509_STORE_CTX_get_error(ctx);
  if (ok == 0 && accept_renewal(ctx, error)) {
    X509_STORE_CTX_set_error(ctx, X509_V_OK);
    return leaf_is_known(ctx) ? 1 : 0;
  }
  if (ok == 0 && error == X509_V_ERR_UNABLE_TO_GET_CRL) {
    X509_STORE_CTX_set_error(ctx, X509_V_OK);
    return 1;
  }
  if (ok == 0 && (error == X509_V_ERR_CRL_HAS_EXPIRED || error == X509_V_ERR_CRL_NOT_YET_VALID)) {
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    const auto* check = static_cast<const CrlCheck*>(
        X509_STORE_get_ex_data(X509_STORE_CTX_get0_store(ctx), crl_check_index()));
    if (error == X509_V_ERR_CRL_HAS_EXPIRED && check != nullptr &&
        check->stale_crl == config::StaleCrl::kWarn) {
      if (ssl != nullptr) SSL_set_ex_data(ssl, forgave_stale_index(), &forgave_stale_marker);
      X509_STORE_CTX_set_error(ctx, X509_V_OK);
      return 1;
    }
    remember_refusing_crl(ssl, X509_STORE_CTX_get0_current_crl(ctx));
    // Counted in handshakes only, not in re-checks of established connections.
    if (error == X509_V_ERR_CRL_HAS_EXPIRED && check != nullptr && ssl != nullptr) {
      ++check->counters->stale_refused;
    }
  }
  if (ok == 0) remember_rejected(ctx);
  if (ok == 1 && X509_STORE_CTX_get_error_depth(ctx) == 0 && !leaf_is_known(ctx)) return 0;
  return ok;
}

// Runs the chain verification (with verify_peer per certificate) and counts
// the peers that passed it on a stale CRL: only here is "passed" known.
int verify_chain_counting_stale(X509_STORE_CTX* ctx, void* arg) {
  int ok = X509_verify_cert(ctx);
  // Also where OpenSSL accepted the leaf without calling back at its depth.
  if (ok == 1 && !leaf_is_known(ctx)) ok = 0;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ok == 1 && ssl != nullptr && SSL_get_ex_data(ssl, forgave_stale_index()) != nullptr) {
    ++static_cast<CrlCheck*>(arg)->counters->stale_admitted;
  }
  return ok;
}

int verify_trust_all(int /*ok*/, X509_STORE_CTX* ctx) {
  X509_STORE_CTX_set_error(ctx, X509_V_OK);
  return 1;
}

// The protocols one connection accepts, set by set_connection_alpn(); it
// overrides the context's list (a policy shared by a postgres and a tcp
// connector answers ALPN per connector).
int connection_alpn_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int select_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  const auto* wire = static_cast<const std::string*>(SSL_get_ex_data(ssl, connection_alpn_index()));
  if (wire == nullptr) wire = static_cast<const std::string*>(arg);  // Context::alpn_wire
  if (wire == nullptr || wire->empty()) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, reinterpret_cast<const unsigned char*>(wire->data()),
                            static_cast<unsigned>(wire->size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

class Builder {
 public:
  Builder(const config::Policy& p, Side side, const BuildOptions& o, const util::Clock& clock)
      : policy_(p),
        side_(side),
        options_(o),
        clock_(clock),
        key_prefix_("ssl.policy." + p.scope + ".") {}

  util::Result<std::shared_ptr<const Context>> build() {
    auto ctx = std::make_shared<Context>();
    ctx->side = side_;
    ctx->policy = policy_;
    pki::clear_openssl_errors();
    ctx->ssl_ctx.reset(
        SSL_CTX_new(side_ == Side::kServer ? TLS_server_method() : TLS_client_method()));
    if (!ctx->ssl_ctx) return util::fail(pki::openssl_error("cannot create an SSL context"));
    SSL_CTX* ssl = ctx->ssl_ctx.get();
    if (auto st = set_algorithms(ssl); !st) return util::fail(st.error());
    if (auto st = set_identity(*ctx); !st) return util::fail(st.error());
    set_acme_hook(*ctx);
    if (auto st = set_trust(*ctx); !st) return util::fail(st.error());
    for (const auto& pin : policy_.pinned_certs) {
      auto raw = pki::parse_pin(pin);
      if (!raw) return util::fail(raw.error().prefixed(key_prefix_ + "pinned_certs"));
      ctx->pins.insert(*raw);
    }
    SSL_CTX_set_options(ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    // Read whole socket buffers, not a record header then its body: half the
    // read(2) calls per handshake and per request (bench/README.md).
    SSL_CTX_set_read_ahead(ssl, 1);
    // One ticket per handshake is all a client keeps (TLS 1.3 renews it on
    // every resumption, see TicketKeys); OpenSSL's default of two costs a
    // ticket encryption and a write for nothing.
    if (side_ == Side::kServer) SSL_CTX_set_num_tickets(ssl, 1);
    if (side_ == Side::kServer) {
      // Needed for resumption with client certificates. Every policy's
      // tickets are sealed with the same keys: the context, the SHA-256 of
      // the whole scope, keeps a ticket from resuming under another policy
      // (the scope cut to 32 bytes let two long names share theirs).
      const std::string sid = "tlsgate ssl.policy." + policy_.scope;
      unsigned char digest[SHA256_DIGEST_LENGTH];
      SHA256(reinterpret_cast<const unsigned char*>(sid.data()), sid.size(), digest);
      static_assert(SHA256_DIGEST_LENGTH <= SSL_MAX_SID_CTX_LENGTH);
      SSL_CTX_set_session_id_context(ssl, digest, SHA256_DIGEST_LENGTH);
      keep_peer_chain_in_tickets(ssl);  // a resumed client is verified with its whole chain
    }
    if (side_ == Side::kServer && options_.tickets) {
      options_.tickets->attach(ssl);
      ctx->tickets = options_.tickets;
    }
    if (!options_.alpn.empty())
      alpn_ = std::make_shared<const std::string>(alpn_wire(options_.alpn));
    if (side_ == Side::kServer) {
      SSL_CTX_set_alpn_select_cb(ssl, select_alpn, const_cast<std::string*>(alpn_.get()));
    } else if (alpn_) {
      SSL_CTX_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(alpn_->data()),
                              static_cast<unsigned>(alpn_->size()));
    }
    ctx->alpn_wire = alpn_;
    if (side_ == Side::kServer && policy_.ocsp_stapling && ctx->certificate) {
      X509* leaf = SSL_CTX_get0_certificate(ssl);
      if (policy_.ocsp_responder.empty() && pki::ocsp_urls(leaf).empty()) {
        return util::fail(fmt::format(
            "{}ocsp_stapling: certificate {} (serial {}) in {} names no OCSP responder (no AIA "
            "OCSP URL); set {}ocsp_responder, or set {}ocsp_stapling=false",
            key_prefix_, ctx->certificate->subject, ctx->certificate->serial_hex,
            policy_.public_certificate.string(), key_prefix_, key_prefix_));
      }
      if (options_.staples) {
        enable_stapling(ssl, options_.staples, ctx->certificate->fingerprint_sha256);
        ctx->stapling = true;
      }
    }
    return std::shared_ptr<const Context>(std::move(ctx));
  }

 private:
  util::Status set_algorithms(SSL_CTX* ssl) {
    auto versions = resolve_versions(policy_.tls_versions);
    if (!versions) return util::fail(versions.error().prefixed(key_prefix_ + "tls_versions"));
    SSL_CTX_set_min_proto_version(ssl, versions->min_version);
    SSL_CTX_set_max_proto_version(ssl, versions->max_version);
    auto ciphers = resolve_ciphers(policy_.ciphers, *versions);
    if (!ciphers) return util::fail(ciphers.error().prefixed(key_prefix_ + "ciphers"));
    if (!ciphers->tls12.empty() && SSL_CTX_set_cipher_list(ssl, ciphers->tls12.c_str()) != 1) {
      return util::fail(
          pki::openssl_error(key_prefix_ + "ciphers: OpenSSL rejects the TLSv1.2 list"));
    }
    if (SSL_CTX_set_ciphersuites(ssl, ciphers->tls13.c_str()) != 1) {
      return util::fail(
          pki::openssl_error(key_prefix_ + "ciphers: OpenSSL rejects the TLSv1.3 list"));
    }
    auto groups = resolve_groups(policy_.groups);
    if (!groups) return util::fail(groups.error().prefixed(key_prefix_ + "groups"));
    if (SSL_CTX_set1_groups_list(ssl, groups->c_str()) != 1) {
      return util::fail(pki::openssl_error(key_prefix_ + "groups: OpenSSL rejects " + *groups));
    }
    return {};
  }

  util::Status set_identity(Context& ctx) {
    std::error_code ec;
    bool have_cert = std::filesystem::exists(policy_.public_certificate, ec);
    if (!have_cert && side_ == Side::kClient) return {};  // dial without a client certificate
    if (!have_cert && policy_.acme()) {
      ctx.acme_pending = true;  // ACME writes the first one; until then only challenges
      return {};
    }
    auto password = resolve_password(policy_, options_.expand_commands);
    if (!password) return util::fail(password.error());
    auto key = load_policy_key(policy_, *password);
    if (!key) return util::fail(key.error().prefixed(key_prefix_ + "private_key"));
    auto certs = pki::load_certificates(policy_.public_certificate);
    if (!certs) return util::fail(certs.error().prefixed(key_prefix_ + "public_certificate"));
    if (auto st =
            pki::check_key_matches(certs->front().get(), key->get(),
                                   policy_.public_certificate.string(), policy_key_source(policy_));
        !st) {
      return util::fail(st.error().prefixed(key_prefix_ + "private_key"));
    }
    pki::X509StackPtr chain(sk_X509_new_null());
    for (size_t i = 1; i < certs->size(); ++i)
      sk_X509_push(chain.get(), pki::up_ref((*certs)[i].get()).release());
    pki::clear_openssl_errors();
    if (SSL_CTX_use_cert_and_key(ctx.ssl_ctx.get(), certs->front().get(), key->get(), chain.get(),
                                 1) != 1) {
      return util::fail(pki::openssl_error(key_prefix_ + "public_certificate: OpenSSL refuses " +
                                           policy_.public_certificate.string()));
    }
    ctx.certificate = pki::describe(certs->front().get(), clock_);
    return {};
  }

  // ACME policies answer tls-alpn-01 challenges on their own listeners, and
  // refuse every other client while they have no certificate yet.
  void set_acme_hook(Context& ctx) {
    if (side_ != Side::kServer || !policy_.acme()) return;
    const bool answers = policy_.acme_challenge == config::AcmeChallenge::kTlsAlpn01;
    if (!ctx.acme_pending && !answers) return;
    auto hook = std::make_shared<AcmeHook>();
    if (answers) hook->store = options_.acme_challenges;
    hook->pending = ctx.acme_pending;
    install_acme_hook(ctx.ssl_ctx.get(), hook.get());
    ctx.acme_hook = std::move(hook);
  }

  util::Status set_trust(Context& ctx) {
    SSL_CTX* ssl = ctx.ssl_ctx.get();
    bool verify_peers = side_ == Side::kClient || policy_.client_auth != config::ClientAuth::kNone;
    if (!verify_peers) {
      SSL_CTX_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
      return {};
    }
    X509_STORE* store = SSL_CTX_get_cert_store(ssl);
    std::error_code ec;
    std::vector<X509*>
        trusted_leaves;  // all of trusted_dir  // owned by `trusted` below, or the store
    util::Result<std::vector<pki::X509Ptr>> trusted = std::vector<pki::X509Ptr>{};
    if (std::filesystem::is_directory(policy_.trusted_dir, ec)) {
      trusted = pki::load_certificates_dir(policy_.trusted_dir);
      if (!trusted) return util::fail(trusted.error().prefixed(key_prefix_ + "trusted_dir"));
      X509NameStackPtr ca_names(sk_X509_NAME_new_null());
      for (const auto& ca : *trusted) {
        X509_STORE_add_cert(store, ca.get());
        trusted_leaves.push_back(ca.get());
        ctx.trusted.push_back(pki::describe(ca.get(), clock_));
        sk_X509_NAME_push(ca_names.get(), X509_NAME_dup(X509_get_subject_name(ca.get())));
      }
      // Tells clients which CAs we accept, so they pick the right certificate.
      if (side_ == Side::kServer) SSL_CTX_set_client_CA_list(ssl, ca_names.release());
    } else if (!policy_.trust_all) {
      return util::fail(
          key_prefix_ + "trusted_dir: folder " + policy_.trusted_dir.string() +
          " does not exist; create it and put the CA certificates of your peers into it");
    }
    if (std::filesystem::is_directory(policy_.revoked_dir, ec)) {
      auto crls = load_crl_files(policy_.revoked_dir, clock_.now());
      if (!crls) return util::fail(crls.error().prefixed(key_prefix_ + "revoked_dir"));
      for (const auto& crl : *crls) X509_STORE_add_crl(store, crl.crl.get());
      ctx.crls = std::move(*crls);
      ctx.has_crls = !ctx.crls.empty();
      if (ctx.has_crls)
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    }
    auto check = std::make_unique<CrlCheck>(CrlCheck{policy_.stale_crl, ctx.crl_counters, {}, {}});
    check->known_peers = policy_.known_peers;
    if (policy_.implicit_trust_renewed) {
      for (X509* cert : trusted_leaves) {
        auto d = pki::describe(cert, clock_);
        check->renewable.push_back({pki::up_ref(cert), pki::spki_sha256(cert),
                                    pki::X509NamePtr(X509_NAME_dup(X509_get_issuer_name(cert))),
                                    d.subject + " (serial " + d.serial_hex + ", in " +
                                        policy_.trusted_dir.string() + ")"});
      }
    }
    if (X509_STORE_set_ex_data(store, crl_check_index(), check.get()) != 1) {
      return util::fail(pki::openssl_error("cannot attach the CRL policy to the SSL context"));
    }
    SSL_CTX_set_cert_verify_callback(ssl, verify_chain_counting_stale, check.release());
    // Also for verifications on this store outside a handshake (re-validation).
    X509_STORE_set_verify_cb(store, policy_.trust_all ? verify_trust_all : verify_peer);
    int mode = SSL_VERIFY_PEER;
    if (side_ == Side::kServer && policy_.client_auth == config::ClientAuth::kRequire) {
      mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(ssl, mode, policy_.trust_all ? verify_trust_all : verify_peer);
    return {};
  }

  const config::Policy& policy_;
  Side side_;
  const BuildOptions& options_;
  const util::Clock& clock_;
  std::string key_prefix_;
  std::shared_ptr<const std::string> alpn_;
};

}  // namespace

void set_connection_alpn(SSL* ssl, const std::string& wire) {
  SSL_set_ex_data(ssl, connection_alpn_index(), const_cast<std::string*>(&wire));
}

std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    wire += static_cast<char>(p.size());
    wire += p;
  }
  return wire;
}

const std::string* renewed_trusted_leaf(const SSL* ssl) {
  return static_cast<const std::string*>(SSL_get_ex_data(ssl, renewed_index()));
}

const X509* rejected_peer_certificate(const SSL* ssl) {
  return static_cast<const X509*>(SSL_get_ex_data(ssl, rejected_index()));
}

const CrlFile* refusing_crl(const SSL* ssl, const Context& ctx) {
  long result = SSL_get_verify_result(ssl);
  if (result != X509_V_ERR_CRL_HAS_EXPIRED && result != X509_V_ERR_CRL_NOT_YET_VALID)
    return nullptr;
  return find_crl(ctx.crls,
                  static_cast<const X509_CRL*>(SSL_get_ex_data(ssl, refusing_crl_index())));
}

util::Result<std::shared_ptr<const Context>> build_context(const config::Policy& policy, Side side,
                                                           const BuildOptions& options,
                                                           const util::Clock& clock) {
  return Builder(policy, side, options, clock).build();
}

}  // namespace tlsgate::tls
