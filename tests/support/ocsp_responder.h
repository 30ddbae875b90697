// OcspResponder: a real `openssl ocsp` responder for one test CA, answering
// from an index.txt the test edits (good, revoked; anything not listed is
// "unknown"), the peer that stapling and revocation tests talk to.
//
// Port: chosen when it is constructed (free_loopback_port), so url() is known
// before the first start: certificates carry it in their AIA extension, and
// "responder down at start" tests need it before the responder runs. The
// port stays the same across stop() and start(). If the first start finds
// the port taken and nobody has asked for url() yet, it moves to another;
// otherwise it retries the same port, a bounded number of times. openssl's
// `-port` takes only a number, so the responder listens on every address
// (the tests connect to 127.0.0.1 only).
//
// Never connect to it without sending a request: openssl ocsp 3.0 spins on
// a connection closed without one and answers nobody after it (so readiness
// is its ACCEPT line and one real request, not a bare connect).
//
// Index changes: the file is replaced atomically (a new inode), and when the
// responder runs it is sent one throwaway request at once: openssl ocsp
// looks for a changed index only between requests, so the request after
// that one is answered from the new index. Everything the responder needs
// (ca.crt, the signer's certificate and key, index.txt) is written into the
// folder given. A ChildProcess (support/process.h): one test thread uses it;
// stopped by stop() or the destructor.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/test_pki.h"

namespace tlsgate::test {

// How an OcspResponder answers (a struct of its own: it is a default argument).
struct OcspResponderOptions {
  // The key that signs the responses: nullptr for the CA itself, else a
  // delegated responder (make_ocsp_responder), or anything else a test
  // wants refused (a responder of another CA, a leaf without OCSPSigning).
  const pki::Issued* signer = nullptr;
  // nextUpdate = thisUpdate + this (`-nmin`); nullopt: no nextUpdate.
  std::optional<int> next_update_minutes{};
  // More arguments for `openssl ocsp` (e.g. {"-resp_no_certs"}).
  std::vector<std::string> extra{};
};

class OcspResponder {
 public:
  using Options = OcspResponderOptions;

  // Writes the files into dir (created if missing); does not start yet.
  OcspResponder(std::filesystem::path dir, const TestCa& ca, Options options = {});
  ~OcspResponder();
  OcspResponder(const OcspResponder&) = delete;
  OcspResponder& operator=(const OcspResponder&) = delete;

  // Starts it and waits until it accepts connections: "" then, else why not
  // (with its output). Starting a running responder restarts it.
  std::string start(Millis deadline = Millis(15000));
  // Stops it (SIGTERM, reaped): connections to url() are refused until start().
  void stop();
  bool running();

  int port() const { return port_; }
  // "http://127.0.0.1:PORT/"
  std::string url();

  // Lists cert in the index as good ("V") / revoked at `when` for `reason`
  // (an openssl reason name: keyCompromise, superseded, cessationOfOperation,
  // ...; "" for none). Takes effect for the next request to the responder.
  void set_good(const X509* cert);
  void set_revoked(const X509* cert, util::SystemTime when,
                   const std::string& reason = "keyCompromise");
  // Drops cert from the index: the responder then answers "unknown".
  void forget(const X509* cert);

  // Asks the responder about cert with openssl's OCSP client (no nonce, its
  // own checks off) and returns the DER response as received. The CertID is
  // hashed with cert_id_digest (an openssl digest name: sha1, sha256, ...);
  // the responder answers with the request's CertID. Throws
  // std::runtime_error with openssl's output when no response came.
  std::string fetch(const X509* cert, const std::string& cert_id_digest = "sha1");

  // What the responder printed so far (over all its starts).
  std::string output() const;
  const std::filesystem::path& dir() const { return dir_; }
  // The index line openssl expects for cert: STATUS, expiry, revocation, serial, "unknown",
  // subject.
  static std::string index_line(const X509* cert, char status, const std::string& revocation);

 private:
  void write_index();
  std::string try_start(Millis deadline, bool* port_taken);
  // One throwaway request (about serial 1): "" once answered, else why not.
  std::string ask(Millis deadline);

  std::filesystem::path dir_;
  Options options_;
  std::map<std::string, std::string> entries_;  // serial (openssl's form) -> index line
  std::unique_ptr<ChildProcess> child_;
  std::string earlier_output_;  // of the starts before the current one
  int port_ = 0;
  bool port_fixed_ = false;  // url() was handed out, or the responder served on port_
  int fetches_ = 0;
};

}  // namespace tlsgate::test
