#include "pki/pkcs11.h"

#include <dlfcn.h>
#include <libp11.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <vector>

#include "pki/openssl_error.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

util::Result<std::string> percent_decode(std::string_view v, std::string_view name) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    int hi = i + 2 < v.size() ? hex_value(v[i + 1]) : -1;
    int lo = i + 2 < v.size() ? hex_value(v[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return util::fail("pkcs11: \"" + std::string(name) + "\" has a bad percent escape");
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  while (!s.empty()) {
    auto at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return parts;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// libp11 pads nothing itself, but tokens report labels blank-padded.
std::string trimmed(const char* s) {
  std::string out = s == nullptr ? "" : s;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Every call a signature makes into a module holds this shared; a module's
// re-initialisation (C_Finalize, C_Initialize) holds it alone, so no thread
// is inside the module while it restarts, which PKCS#11 forbids. libp11's
// RSA and EC methods are one static object each, used by every key it
// makes: their private operations are wrapped in place, once.
std::shared_mutex& module_calls() {
  static auto* mu = new std::shared_mutex;  // never destroyed: workers may sign at exit
  return *mu;
}

// NOLINTBEGIN(cppcoreguidelines-avoid-non-const-global-variables): libp11's
// own operations, saved once (under the registry's lock) before the first key.
using RsaOp = int (*)(int, const unsigned char*, unsigned char*, RSA*, int);
using EcSignSig = ECDSA_SIG* (*)(const unsigned char*, int, const BIGNUM*, const BIGNUM*, EC_KEY*);
RsaOp libp11_rsa_priv_enc = nullptr;
RsaOp libp11_rsa_priv_dec = nullptr;
EcSignSig libp11_ec_sign_sig = nullptr;
// NOLINTEND(cppcoreguidelines-avoid-non-const-global-variables)

// The RSA and EC_KEY objects of keys found before their module restarted,
// under module_calls(). Their session handles are stale: used, they could
// name a session of a newer key and break its operation, so they fail here.
std::set<const void*>& stale_keys() {
  static auto* keys = new std::set<const void*>;
  return *keys;
}

bool refuse_stale(const void* key) {
  if (!stale_keys().contains(key)) return false;
  ERR_raise_data(ERR_LIB_USER, ERR_R_OPERATION_FAIL,
                 "the PKCS#11 module restarted since this key was found; a reload uses the key "
                 "found anew");
  return true;
}

int rsa_priv_enc(int len, const unsigned char* from, unsigned char* to, RSA* rsa, int pad) {
  std::shared_lock lock(module_calls());
  if (refuse_stale(rsa)) return -1;
  return libp11_rsa_priv_enc(len, from, to, rsa, pad);
}
int rsa_priv_dec(int len, const unsigned char* from, unsigned char* to, RSA* rsa, int pad) {
  std::shared_lock lock(module_calls());
  if (refuse_stale(rsa)) return -1;
  return libp11_rsa_priv_dec(len, from, to, rsa, pad);
}
ECDSA_SIG* ec_sign_sig(const unsigned char* dgst, int len, const BIGNUM* kinv, const BIGNUM* r,
                       EC_KEY* key) {
  std::shared_lock lock(module_calls());
  if (refuse_stale(key)) return nullptr;
  return libp11_ec_sign_sig(dgst, len, kinv, r, key);
}

// The legacy method API is what libp11 builds its keys on (see the header).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void wrap_libp11_methods() {
  if (libp11_ec_sign_sig != nullptr || libp11_rsa_priv_enc != nullptr) return;
  if (RSA_METHOD* rsa = PKCS11_get_rsa_method(); rsa != nullptr) {
    libp11_rsa_priv_enc = RSA_meth_get_priv_enc(rsa);
    libp11_rsa_priv_dec = RSA_meth_get_priv_dec(rsa);
    if (libp11_rsa_priv_enc != nullptr) RSA_meth_set_priv_enc(rsa, rsa_priv_enc);
    if (libp11_rsa_priv_dec != nullptr) RSA_meth_set_priv_dec(rsa, rsa_priv_dec);
  }
  if (EC_KEY_METHOD* ec = PKCS11_get_ec_key_method(); ec != nullptr) {
    int (*sign)(int, const unsigned char*, int, unsigned char*, unsigned int*, const BIGNUM*,
                const BIGNUM*, EC_KEY*) = nullptr;
    int (*setup)(EC_KEY*, BN_CTX*, BIGNUM**, BIGNUM**) = nullptr;
    EC_KEY_METHOD_get_sign(ec, &sign, &setup, &libp11_ec_sign_sig);
    if (libp11_ec_sign_sig != nullptr) EC_KEY_METHOD_set_sign(ec, sign, setup, ec_sign_sig);
  }
}
void mark_stale(const EVP_PKEY* key) {
  if (const RSA* rsa = EVP_PKEY_get0_RSA(key)) stale_keys().insert(rsa);
  if (const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key)) stale_keys().insert(ec);
}
#pragma GCC diagnostic pop

// One loaded module: its libp11 context and every slot list found on it.
// Never freed (see the header): keys point into the slot lists, and into
// the contexts a re-initialisation left behind.
struct Module {
  std::string path;
  PKCS11_CTX* ctx = nullptr;
  // A dlopen of our own, never closed: the library stays mapped when libp11
  // unloads a context, so the keys of an older context still find its code.
  void* pinned = nullptr;
  std::vector<PKCS11_CTX*> old_ctxs;
  struct SlotList {
    PKCS11_SLOT* slots = nullptr;
    unsigned int count = 0;
  };
  std::vector<SlotList> lists;
  std::map<std::string, EvpPkeyPtr> keys;  // by redacted URI
  std::vector<EvpPkeyPtr> retired;         // keys of a token that went away
  std::set<std::string> lost;              // URIs whose key went away, not found since
};

struct Registry {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<Module>> modules;  // by path
};

Registry& registry() {
  static auto* r = new Registry;  // never destroyed: keys outlive static destruction order
  return *r;
}

util::Result<Module*> module_for(Registry& r, const std::filesystem::path& path) {
  auto it = r.modules.find(path.string());
  if (it != r.modules.end()) return it->second.get();
  if (path.empty()) return util::fail("no PKCS#11 module given; set its path");
  std::error_code ec;
  if (path.has_parent_path() && !std::filesystem::exists(path, ec)) {
    return util::fail("cannot load the PKCS#11 module " + path.string() + ": no such file");
  }
  auto m = std::make_unique<Module>();
  m->path = path.string();
  m->ctx = PKCS11_CTX_new();
  clear_openssl_errors();
  if (m->ctx == nullptr || PKCS11_CTX_load(m->ctx, path.c_str()) != 0) {
    std::string reasons = drain_openssl_errors();
    if (m->ctx != nullptr) PKCS11_CTX_free(m->ctx);
    return util::fail("cannot load the PKCS#11 module " + path.string() +
                      (reasons.empty() ? std::string(": not a PKCS#11 module") : ": " + reasons));
  }
  m->pinned = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  wrap_libp11_methods();
  auto* raw = m.get();
  r.modules.emplace(path.string(), std::move(m));
  return raw;
}

bool token_matches(const PKCS11_TOKEN* t, const Pkcs11Uri& u) {
  if (t == nullptr || !t->initialized) return false;
  if (!u.token.empty() && trimmed(t->label) != u.token) return false;
  if (!u.serial.empty() && trimmed(t->serialnr) != u.serial) return false;
  if (!u.manufacturer.empty() && trimmed(t->manufacturer) != u.manufacturer) return false;
  if (!u.model.empty() && trimmed(t->model) != u.model) return false;
  return true;
}

bool key_matches(const PKCS11_KEY& k, const Pkcs11Uri& u) {
  if (!u.object.empty() && trimmed(k.label) != u.object) return false;
  if (!u.id.empty() &&
      std::string(reinterpret_cast<const char*>(k.id), k.id == nullptr ? 0 : k.id_len) != u.id) {
    return false;
  }
  return true;
}

bool mentions_pin(const std::string& reasons) {
  return reasons.find("PIN") != std::string::npos || reasons.find("pin") != std::string::npos;
}

util::Result<EvpPkeyPtr> find_key(Module& m, const std::string& shown, const Pkcs11Uri& u,
                                  const std::optional<util::Secret>& pin,
                                  const std::string& pin_origin) {
  // Kept even when nothing is found on it: releasing a slot list closes
  // every session of the process on those slots, the working keys' too.
  Module::SlotList list;
  clear_openssl_errors();
  if (PKCS11_enumerate_slots(m.ctx, &list.slots, &list.count) != 0) {
    return util::fail(openssl_error(shown + ": cannot list the module's slots"));
  }
  m.lists.push_back(list);
  PKCS11_SLOT* slot = nullptr;
  std::vector<std::string> seen;
  for (unsigned int i = 0; i < list.count; ++i) {
    const PKCS11_TOKEN* t = list.slots[i].token;
    if (t == nullptr || !t->initialized) continue;
    seen.push_back(quoted(trimmed(t->label)) + " (serial " + trimmed(t->serialnr) + ")");
    if (slot == nullptr && token_matches(t, u)) slot = &list.slots[i];
  }
  if (slot == nullptr) {
    return util::fail(
        shown + ": no token matches; the module has " +
        (seen.empty() ? std::string("no initialized token") : util::join(seen, ", ")));
  }
  const std::string token = quoted(trimmed(slot->token->label));
  if (slot->token->loginRequired) {
    if (!pin) {
      return util::fail(shown + ": token " + token + " needs a PIN; give it in " + pin_origin);
    }
    clear_openssl_errors();
    if (PKCS11_login(slot, 0, pin->reveal().c_str()) != 0) {
      std::string reasons = drain_openssl_errors();
      if (mentions_pin(reasons)) {
        return util::fail(shown + ": the token " + token + " refused the PIN given in " +
                          pin_origin +
                          (reasons.find("locked") != std::string::npos ||
                                   reasons.find("LOCKED") != std::string::npos
                               ? " (the PIN is locked)"
                               : ""));
      }
      return util::fail(shown + ": cannot log in to token " + token + ": " + reasons);
    }
  }
  PKCS11_KEY* keys = nullptr;
  unsigned int count = 0;
  clear_openssl_errors();
  if (PKCS11_enumerate_keys(slot->token, &keys, &count) != 0) {
    return util::fail(openssl_error(shown + ": cannot list the keys of token " + token));
  }
  std::vector<std::string> labels;
  for (unsigned int i = 0; i < count; ++i) {
    labels.push_back(quoted(trimmed(keys[i].label)));
    if (!key_matches(keys[i], u)) continue;
    clear_openssl_errors();
    EvpPkeyPtr key(PKCS11_get_private_key(&keys[i]));
    if (!key) return util::fail(openssl_error(shown + ": cannot use the key"));
    return key;
  }
  return util::fail(shown + ": no private key matches on token " + token + "; it holds " +
                    (labels.empty() ? std::string("no private key") : util::join(labels, ", ")));
}

}  // namespace

bool is_pkcs11_uri(std::string_view text) { return util::starts_with_nocase(text, "pkcs11:"); }

util::Result<Pkcs11Uri> parse_pkcs11_uri(std::string_view text) {
  if (!is_pkcs11_uri(text)) return util::fail("not a pkcs11: URI");
  text.remove_prefix(7);
  std::string_view path = text.substr(0, text.find('?'));
  std::string_view query = path.size() < text.size() ? text.substr(path.size() + 1) : "";
  Pkcs11Uri u;
  auto take = [&](std::string_view attr) -> util::Status {
    if (attr.empty()) return {};
    auto eq = attr.find('=');
    if (eq == std::string_view::npos) {
      return util::fail("pkcs11: attribute \"" + std::string(attr) + "\" has no value");
    }
    auto name = attr.substr(0, eq);
    auto value = percent_decode(attr.substr(eq + 1), name);
    if (!value) return util::fail(value.error());
    if (name == "token")
      u.token = *value;
    else if (name == "object")
      u.object = *value;
    else if (name == "id")
      u.id = *value;
    else if (name == "serial")
      u.serial = *value;
    else if (name == "manufacturer")
      u.manufacturer = *value;
    else if (name == "model")
      u.model = *value;
    else if (name == "type")
      u.type = *value;
    else if (name == "pin-value" || name == "pin-source")
      u.has_pin = true;
    return {};  // RFC 7512: unknown attributes are ignored (library-*, slot-*, module-*)
  };
  for (auto a : split(path, ';')) {
    if (auto st = take(a); !st) return util::fail(st.error());
  }
  for (auto a : split(query, '&')) {
    if (auto st = take(a); !st) return util::fail(st.error());
  }
  if (!u.type.empty() && u.type != "private") {
    return util::fail("pkcs11: type=" + u.type + " names no private key; use type=private");
  }
  if (u.object.empty() && u.id.empty()) {
    return util::fail("pkcs11: the URI names no key; add object=LABEL or id=%XX");
  }
  return u;
}

std::string redact_pkcs11_uri(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i <= text.size()) {
    size_t end = text.find_first_of(";?&", i);
    if (end == std::string_view::npos) end = text.size();
    auto attr = text.substr(i, end - i);
    bool secret = attr.starts_with("pin-value=") || attr.starts_with("pin-source=");
    if (!secret) {
      out += attr;
      if (end < text.size()) out += text[end];
    } else if (end < text.size() && text[end] == '?') {
      out += '?';
    }
    i = end + 1;
  }
  while (!out.empty() && (out.back() == ';' || out.back() == '&' || out.back() == '?')) {
    out.pop_back();
  }
  return out;
}

namespace {

// Restarts the module (C_Finalize, then C_Initialize in a new libp11
// context) while no thread signs. A module that lost a token may not see it
// again otherwise: SoftHSM answers every slot listing with CKR_GENERAL_ERROR
// after its token folder went and came back. The old context is unloaded
// and kept; keys made on it fail from then on (stale_keys), so only a
// module none of whose keys signs is restarted. Fails only when the module no longer loads.
util::Status reinitialise(Module& m) {
  if (m.pinned == nullptr) return util::fail("cannot restart the PKCS#11 module " + m.path);
  std::unique_lock calls(module_calls());
  for (const auto& [uri, key] : m.keys) mark_stale(key.get());
  for (const auto& key : m.retired) mark_stale(key.get());
  PKCS11_CTX_unload(m.ctx);
  m.old_ctxs.push_back(m.ctx);
  m.ctx = PKCS11_CTX_new();
  clear_openssl_errors();
  if (m.ctx == nullptr || PKCS11_CTX_load(m.ctx, m.path.c_str()) != 0) {
    return util::fail(openssl_error("cannot restart the PKCS#11 module " + m.path));
  }
  return {};
}

// Whether some key kept on the module still signs: then it must not restart
// (libp11's pooled sessions of those keys would go stale with it).
bool some_key_signs(const Module& m) {
  for (const auto& [uri, key] : m.keys) {
    if (test_signature(key.get(), uri)) return true;
  }
  return false;
}

}  // namespace

util::Status test_signature(const EVP_PKEY* key, const std::string& what) {
  static constexpr unsigned char kMessage[] = "tlsgate pkcs11 test signature";
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  unsigned char sig[1024];
  size_t len = sizeof(sig);
  clear_openssl_errors();
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, unconst(key)) != 1 ||
      EVP_DigestSign(md.get(), sig, &len, kMessage, sizeof(kMessage)) != 1) {
    return util::fail(openssl_error(what + ": the token did not sign"));
  }
  return {};
}

util::Result<EvpPkeyPtr> load_pkcs11_key(std::string_view uri, const std::filesystem::path& module,
                                         const std::optional<util::Secret>& pin,
                                         const std::string& pin_origin) {
  const std::string shown = redact_pkcs11_uri(uri);
  auto parsed = parse_pkcs11_uri(uri);
  if (!parsed) return util::fail(parsed.error().prefixed(shown));
  auto& r = registry();
  std::lock_guard lock(r.mu);
  auto m = module_for(r, module);
  if (!m) return util::fail(m.error());
  Module& mod = **m;
  if (auto it = mod.keys.find(shown); it != mod.keys.end()) {
    if (test_signature(it->second.get(), shown)) return up_ref(it->second.get());
    mod.retired.push_back(std::move(it->second));  // token gone and back: find it anew
    mod.keys.erase(it);
    mod.lost.insert(shown);
  }
  auto key = find_key(mod, shown, *parsed, pin, pin_origin);
  if (!key && mod.lost.contains(shown) && !some_key_signs(mod)) {
    // The key was there, the module no longer finds it and no key of it
    // signs: restart the module, then look once more (a token that came
    // back shows again).
    if (auto st = reinitialise(mod); !st) return util::fail(st.error());
    key = find_key(mod, shown, *parsed, pin, pin_origin);
  }
  if (!key) return key;
  if (auto st = test_signature(key->get(), shown); !st) return util::fail(st.error());
  auto out = up_ref(key->get());
  mod.lost.erase(shown);
  mod.keys.emplace(shown, std::move(*key));
  return out;
}

}  // namespace tlsgate::pki
