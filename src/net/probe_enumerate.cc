#include "net/probe_enumerate.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <openssl/ssl.h>

#include "net/dial.h"
#include "net/probe_io.h"
#include "pki/openssl_error.h"
#include "tls/client_hello.h"
#include "tls/server_name.h"
#include "tls/ssl_handles.h"
#include "util/strings.h"

namespace tlsgate::net {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint16_t kVersions[] = {tls::kSsl3, tls::kTls10, tls::kTls11, tls::kTls12, tls::kTls13};

class Progress {
 public:
  Progress(const EnumerationProgress& report, int total) : report_(report), total_(total) {}
  void tick() {
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    total_ = std::max(total_, done_ + 1);
    if (report_) report_(done_, total_);
  }
  int done() const {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }

 private:
  const EnumerationProgress& report_;
  mutable std::mutex mu_;
  int done_ = 0;
  int total_;
};

struct Attempt {
  bool ok = false;       // the server picked a suite
  bool reached = false;  // TCP and STARTTLS worked
  uint16_t suite = 0;
  std::string group;
  std::string certificate_curve;  // the server's ECDSA certificate's curve, or ""
  std::string error;  // set when the attempt says nothing of the offer: not reached, no answer
};

// A server that never answered has refused nothing: its silence is an error
// of the attempt, not a "refused" (a silent port graded clean before).
void note_silence(Attempt& a, Clock::time_point deadline, std::chrono::milliseconds timeout) {
  if (a.ok || Clock::now() < deadline) return;
  a.error = fmt::format("no answer within {:.1f} s (timeout)",
                        std::chrono::duration<double>(timeout).count());
}

// A context offering exactly `version`, at security level 0 (legacy versions
// and suites are what we ask about).
tls::SslCtxPtr legacy_context(uint16_t version) {
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return ctx;
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_min_proto_version(ctx.get(), version);
  SSL_CTX_set_max_proto_version(ctx.get(), version);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  return ctx;
}

// The suites this OpenSSL offers for `version`, in its order; empty when it
// cannot speak that version at all.
std::vector<const SSL_CIPHER*> openssl_suites(uint16_t version) {
  std::vector<const SSL_CIPHER*> out;
  pki::clear_openssl_errors();
  auto ctx = legacy_context(version);
  if (!ctx || SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL:@SECLEVEL=0") != 1) {
    pki::clear_openssl_errors();
    return out;
  }
  tls::SslPtr ssl(SSL_new(ctx.get()));
  if (!ssl) return out;
  STACK_OF(SSL_CIPHER)* list = SSL_get1_supported_ciphers(ssl.get());
  for (int i = 0; list != nullptr && i < sk_SSL_CIPHER_num(list); ++i) {
    out.push_back(sk_SSL_CIPHER_value(list, i));
  }
  sk_SSL_CIPHER_free(list);
  pki::clear_openssl_errors();
  return out;
}

uint16_t code_of(const SSL_CIPHER* c) { return SSL_CIPHER_get_protocol_id(c); }

// One OpenSSL handshake offering `suites` under `version` (and `groups`, if given).
Attempt openssl_attempt(const ProbeOptions& o, uint16_t version,
                        const std::vector<const SSL_CIPHER*>& suites, const std::string& groups) {
  Attempt a;
  pki::clear_openssl_errors();
  auto ctx = legacy_context(version);
  std::vector<std::string> names;
  names.reserve(suites.size());
  for (const auto* c : suites) names.push_back(SSL_CIPHER_get_name(c));
  bool set = ctx != nullptr;
  if (set && version == tls::kTls13) {
    set = SSL_CTX_set_ciphersuites(ctx.get(), util::join(names, ":").c_str()) == 1;
  } else if (set) {
    set =
        SSL_CTX_set_cipher_list(ctx.get(), (util::join(names, ":") + ":@SECLEVEL=0").c_str()) == 1;
  }
  if (set && !groups.empty()) set = SSL_CTX_set1_groups_list(ctx.get(), groups.c_str()) == 1;
  if (!set) {
    a.error = pki::openssl_error("this OpenSSL refuses the offer").message();
    return a;
  }
  if (!o.cert_file.empty()) {
    if (auto used = use_client_certificate(ctx.get(), o.cert_file, o.key_file); !used) {
      a.error = used.error();
      return a;
    }
  }
  auto deadline = Clock::now() + o.timeout;
  auto channel = open_channel(o, deadline);
  if (!channel) {
    a.error = channel.error().message;
    return a;
  }
  a.reached = true;
  tls::SslPtr ssl(SSL_new(ctx.get()));
  if (!ssl || SSL_set_fd(ssl.get(), channel->fd.get()) != 1) return a;
  tls::set_sni(ssl.get(), o.server_name.empty() ? o.target.host : o.server_name);
  bool certificate_requested = false;
  watch_certificate_request(ssl.get(), &certificate_requested);
  for (int i = 0; i < 10000; ++i) {  // bounded by the deadline as well
    pki::clear_openssl_errors();
    int rc = SSL_connect(ssl.get());
    if (rc == 1) {
      a.ok = true;
      a.suite = code_of(SSL_get_current_cipher(ssl.get()));
      a.group = negotiated_group(ssl.get());
      a.certificate_curve = certificate_curve(ssl.get());
      SSL_shutdown(ssl.get());
      break;
    }
    int err = SSL_get_error(ssl.get(), rc);
    Io want = err == SSL_ERROR_WANT_READ    ? Io::kWantRead
              : err == SSL_ERROR_WANT_WRITE ? Io::kWantWrite
                                            : Io::kError;
    if (want == Io::kError || !wait_ready(channel->fd.get(), want, deadline)) break;
  }
  // A TLS 1.2 server that asks for a client certificate has chosen its suite
  // (ServerHello) and group (ServerKeyExchange) before it refuses a client
  // without one: what the offer asked is answered all the same.
  const SSL_CIPHER* chosen = SSL_get_pending_cipher(ssl.get());
  if (!a.ok && certificate_requested && version != tls::kTls13 && chosen != nullptr) {
    a.ok = true;
    a.suite = code_of(chosen);
    a.group = negotiated_group(ssl.get());
    a.certificate_curve = certificate_curve(ssl.get());
  }
  pki::clear_openssl_errors();
  note_silence(a, deadline, o.timeout);
  return a;
}

// One ClientHello of our own offering `suites` under `version`.
Attempt hello_attempt(const ProbeOptions& o, uint16_t version,
                      const std::vector<uint16_t>& suites) {
  Attempt a;
  auto deadline = Clock::now() + o.timeout;
  auto channel = open_channel(o, deadline);
  if (!channel) {
    a.error = channel.error().message;
    return a;
  }
  a.reached = true;
  tls::HelloOptions h;
  h.version = version;
  h.suites = suites;
  std::string name = o.server_name.empty() ? o.target.host : o.server_name;
  if (!tls::is_ip_literal(name)) h.server_name = name;
  if (!send_all(channel->fd.get(), tls::build_client_hello(h), deadline)) {
    note_silence(a, deadline, o.timeout);
    return a;
  }
  std::string got;
  for (int i = 0; i < 1000; ++i) {  // bounded by kMaxServerHelloBytes and the deadline
    auto bytes = read_some(channel->fd.get(), 16384, deadline);
    if (!bytes) {  // closed: refused; silent: an error
      note_silence(a, deadline, o.timeout);
      return a;
    }
    got += *bytes;
    auto r = tls::parse_server_hello(got);
    if (r.kind == tls::ServerHelloResult::Kind::kNeedMore) continue;
    if (r.kind == tls::ServerHelloResult::Kind::kServerHello && r.version == version &&
        std::find(suites.begin(), suites.end(), r.suite) != suites.end()) {
      a.ok = true;
      a.suite = r.suite;
    }
    return a;
  }
  return a;
}

EnumeratedSuite describe_suite(uint16_t code, const std::string& method) {
  EnumeratedSuite s;
  s.code = code;
  s.method = method;
  const unsigned char bytes[2] = {static_cast<unsigned char>(code >> 8),
                                  static_cast<unsigned char>(code & 0xff)};
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  tls::SslPtr ssl(ctx ? SSL_new(ctx.get()) : nullptr);
  const SSL_CIPHER* c = ssl ? SSL_CIPHER_find(ssl.get(), bytes) : nullptr;
  if (c != nullptr) {
    s.name = SSL_CIPHER_standard_name(c);
    s.openssl_name = SSL_CIPHER_get_name(c);
  } else {
    s.name = tls::suite_name(code);
  }
  return s;
}

void enumerate_version(const ProbeOptions& o, EnumeratedVersion& v, Progress& progress) {
  v.name = tls::version_name(v.version);
  // 1. What this OpenSSL can offer.
  auto offer = openssl_suites(v.version);
  std::set<uint16_t> local;
  for (const auto* c : offer) local.insert(code_of(c));
  for (size_t i = 0, n = offer.size(); i <= n && !offer.empty(); ++i) {
    auto a = openssl_attempt(o, v.version, offer, "");
    progress.tick();
    if (!a.ok) {
      if (!a.error.empty()) v.error = a.error;
      break;
    }
    auto it = std::find_if(offer.begin(), offer.end(),
                           [&a](const SSL_CIPHER* c) { return code_of(c) == a.suite; });
    if (it == offer.end()) break;
    offer.erase(it);
    auto& curves = v.certificate_curves;
    if (!a.certificate_curve.empty() &&
        std::find(curves.begin(), curves.end(), a.certificate_curve) == curves.end()) {
      curves.push_back(a.certificate_curve);
    }
    v.suites.push_back(describe_suite(a.suite, "openssl"));
  }
  size_t by_openssl = v.suites.size();
  // 2. What it cannot: our own ClientHello (TLS 1.2 and older only).
  if (v.version != tls::kTls13 && v.error.empty()) {
    std::vector<uint16_t> rest;
    for (const auto& s : tls::known_suites()) {
      if (local.count(s.code) == 0) rest.push_back(s.code);
    }
    for (size_t i = 0, n = rest.size(); i <= n && !rest.empty(); ++i) {
      auto a = hello_attempt(o, v.version, rest);
      progress.tick();
      if (!a.ok) {
        if (!a.error.empty()) v.error = a.error;
        break;
      }
      rest.erase(std::find(rest.begin(), rest.end(), a.suite));
      v.suites.push_back(describe_suite(a.suite, "clienthello"));
    }
  }
  v.accepted = !v.suites.empty();
  if (v.accepted) v.method = by_openssl > 0 ? "openssl" : "clienthello";
  // 3. Whose order: offer the first two found the other way round.
  if (v.suites.size() >= 2) {
    const auto& first = v.suites[0];
    const auto& second = v.suites[1];
    Attempt a;
    if (first.method == "openssl" && second.method == "openssl") {
      auto all = openssl_suites(v.version);
      std::vector<const SSL_CIPHER*> two;
      for (uint16_t code : {second.code, first.code}) {
        for (const auto* c : all) {
          if (code_of(c) == code) two.push_back(c);
        }
      }
      a = openssl_attempt(o, v.version, two, "");
    } else {
      a = hello_attempt(o, v.version, {second.code, first.code});
    }
    progress.tick();
    if (a.ok) v.server_order = a.suite == first.code;
  }
}

void enumerate_group(const ProbeOptions& o, EnumeratedGroup& g, Progress& progress, uint16_t top) {
  auto suites = openssl_suites(top);
  auto a = openssl_attempt(o, top, suites, std::string(g.name));
  progress.tick();
  g.accepted = a.ok && a.group == g.name;
}

// A TLS 1.2 group that failed alone, offered again first and followed by
// `curve`, the server's ECDSA certificate's (accepted alone or not, as
// `curve_accepted` says). `server_order`: the server imposes its own suite
// order (OpenSSL's servers order groups the same way), if known.
void enumerate_group_with_curve(const ProbeOptions& o, EnumeratedGroup& g, const std::string& curve,
                                bool curve_accepted, std::optional<bool> server_order,
                                Progress& progress) {
  auto a = openssl_attempt(o, tls::kTls12, openssl_suites(tls::kTls12), g.name + ":" + curve);
  progress.tick();
  const std::string why = "TLS 1.2 only, and the server's ECDSA certificate is on " + curve +
                          ", which a TLS 1.2 client must offer too";
  if (a.ok && a.group == g.name) {
    g.accepted = true;
    g.note = "offered followed by " + curve + ": " + why;
  } else if (!a.error.empty()) {
    g.known = false;
    g.note = "not known: " + a.error;
  } else if (a.ok && a.group != g.name && curve_accepted && server_order.value_or(true)) {
    // Offered first, yet not taken: refused under the client's order, but
    // a server with an order of its own may just prefer the curve.
    g.known = false;
    g.note =
        "not known: " + why + ", and the server picked " + a.group +
        (server_order ? " in its own order" : " (whose order, the server's or ours, is not known)");
  }
}

}  // namespace

Enumeration enumerate(const ProbeOptions& o, const EnumerationProgress& report) {
  Enumeration e;
  for (uint16_t v : kVersions) {
    EnumeratedVersion ev;
    ev.version = v;
    ev.name = tls::version_name(v);
    e.versions.push_back(ev);
  }
  for (const auto& g : tls::known_groups()) {
    EnumeratedGroup eg;
    eg.name = std::string(g.name);
    e.groups.push_back(eg);
  }
  Progress progress(report, static_cast<int>(e.versions.size() * 6 + e.groups.size()));
  // Versions first (in parallel), then groups under the highest version accepted.
  std::deque<std::function<void()>> work;
  std::mutex mu;
  auto run = [&work, &mu] {
    std::vector<std::thread> threads;
    threads.reserve(kEnumerationThreads);
    for (int t = 0; t < kEnumerationThreads; ++t) {
      threads.emplace_back([&work, &mu] {
        while (true) {
          std::function<void()> job;
          {
            std::lock_guard<std::mutex> lock(mu);
            if (work.empty()) return;
            job = std::move(work.front());
            work.pop_front();
          }
          job();
        }
      });
    }
    for (auto& t : threads) t.join();
  };
  for (auto& v : e.versions) {
    work.emplace_back([&o, &v, &progress] { enumerate_version(o, v, progress); });
  }
  run();
  uint16_t top = 0;
  for (const auto& v : e.versions) {
    if (v.accepted && v.version >= tls::kTls12) top = v.version;
  }
  bool reached = std::any_of(e.versions.begin(), e.versions.end(),
                             [](const EnumeratedVersion& v) { return v.error.empty(); });
  if (!reached) {
    e.error = "the server could not be reached: " + e.versions.front().error;
  } else if (top != 0) {
    for (auto& g : e.groups) {
      work.emplace_back([&o, &g, &progress, top] { enumerate_group(o, g, progress, top); });
    }
    run();
    if (top == tls::kTls12) {
      const auto& v12 =
          *std::find_if(e.versions.begin(), e.versions.end(),
                        [](const EnumeratedVersion& v) { return v.version == tls::kTls12; });
      auto accepted = [&e](const std::string& name) {
        return std::any_of(e.groups.begin(), e.groups.end(), [&name](const EnumeratedGroup& g) {
          return g.name == name && g.accepted;
        });
      };
      for (const auto& curve : v12.certificate_curves) {
        bool curve_accepted = accepted(curve);
        for (auto& g : e.groups) {
          // ffdhe groups are not asked for under TLS 1.2 (OpenSSL 3.0 cannot).
          if (g.accepted || !g.known || g.name == curve || g.name.starts_with("ffdhe")) {
            continue;
          }
          work.emplace_back([&o, &g, curve, curve_accepted, &v12, &progress] {
            enumerate_group_with_curve(o, g, curve, curve_accepted, v12.server_order, progress);
          });
        }
        run();
      }
    }
  }
  e.connections = progress.done();
  return e;
}

}  // namespace tlsgate::net
