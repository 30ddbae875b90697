#include "support/ocsp_responder.h"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include "pki/certificate_info.h"
#include "support/loopback.h"
#include "support/temp_dir.h"

namespace tlsgate::test {
namespace {

constexpr int kStartAttempts = 20;

// The serial as openssl's index.txt holds it: upper case, an even number of digits.
std::string index_serial(const X509* cert) {
  std::string hex = pki::serial_to_hex(cert);
  for (auto& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return hex.size() % 2 == 0 ? hex : "0" + hex;
}

// UTCTime, the only form openssl reads for a revocation time in index.txt.
std::string utc_time(util::SystemTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%y%m%d%H%M%SZ", &tm);
  return buf;
}

}  // namespace

OcspResponder::OcspResponder(std::filesystem::path dir, const TestCa& ca, Options options)
    : dir_(std::move(dir)), options_(std::move(options)), port_(free_loopback_port()) {
  std::filesystem::create_directories(dir_);
  write_cert(dir_ / "ca.crt", ca.ca.cert.get());
  const pki::Issued& signer = options_.signer != nullptr ? *options_.signer : ca.ca;
  write_cert(dir_ / "signer.crt", signer.cert.get());
  write_key(dir_ / "signer.key", signer.key.get());
  write_index();
}

OcspResponder::~OcspResponder() { stop(); }

std::string OcspResponder::index_line(const X509* cert, char status,
                                      const std::string& revocation) {
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  std::string expiry(reinterpret_cast<const char*>(ASN1_STRING_get0_data(not_after)),
                     static_cast<size_t>(ASN1_STRING_length(not_after)));
  char subject[512];
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
  return std::string(1, status) + "\t" + expiry + "\t" + revocation + "\t" + index_serial(cert) +
         "\tunknown\t" + subject + "\n";
}

void OcspResponder::write_index() {
  std::string text;
  for (const auto& [serial, line] : entries_) text += line;
  // A new file renamed into place: a new inode, which openssl notices even
  // within the same second as the last change.
  write_text(dir_ / "index.txt.new", text);
  std::filesystem::rename(dir_ / "index.txt.new", dir_ / "index.txt");
  if (!running()) return;
  // openssl ocsp compares the index before it waits for a connection: this
  // request is answered from the old one, every later one from the new one.
  if (std::string why = ask(Millis(20000)); !why.empty()) {
    throw std::runtime_error("the OCSP responder did not answer after its index changed: " + why);
  }
}

std::string OcspResponder::ask(Millis deadline) {
  auto seconds =
      std::max<long>(1, std::chrono::duration_cast<std::chrono::seconds>(deadline).count());
  std::error_code ec;
  std::filesystem::remove(dir_ / "ask.der", ec);
  // Any response will do (its status may not even name serial 1, with -rcid).
  CommandResult r = run_shell("timeout " + std::to_string(seconds) +
                                  " openssl ocsp -issuer ca.crt -serial 1 -url " +
                                  shell_quote(url()) + " -no_nonce -noverify -respout ask.der",
                              dir_, deadline + Millis(5000));
  if (std::filesystem::file_size(dir_ / "ask.der", ec) > 0 && !ec) return "";
  return "no answer to openssl ocsp as a client (exit " + std::to_string(r.code) + "):\n" + r.out +
         r.err + "\nresponder:\n" + output();
}

void OcspResponder::set_good(const X509* cert) {
  entries_[index_serial(cert)] = index_line(cert, 'V', "");
  write_index();
}

void OcspResponder::set_revoked(const X509* cert, util::SystemTime when,
                                const std::string& reason) {
  entries_[index_serial(cert)] =
      index_line(cert, 'R', utc_time(when) + (reason.empty() ? "" : "," + reason));
  write_index();
}

void OcspResponder::forget(const X509* cert) {
  entries_.erase(index_serial(cert));
  write_index();
}

std::string OcspResponder::url() {
  port_fixed_ = true;
  return "http://127.0.0.1:" + std::to_string(port_) + "/";
}

bool OcspResponder::running() { return child_ && child_->running(); }

std::string OcspResponder::try_start(Millis deadline, bool* port_taken) {
  *port_taken = false;
  std::vector<std::string> argv = {
      "openssl", "ocsp",   "-index",   "index.txt",  "-port", std::to_string(port_),
      "-CA",     "ca.crt", "-rsigner", "signer.crt", "-rkey", "signer.key"};
  if (options_.next_update_minutes) {
    argv.insert(argv.end(), {"-nmin", std::to_string(*options_.next_update_minutes)});
  }
  argv.insert(argv.end(), options_.extra.begin(), options_.extra.end());
  if (child_) earlier_output_ += child_->output();
  try {
    child_ = std::make_unique<ChildProcess>(argv, ChildProcess::Options{.cwd = dir_});
  } catch (const std::exception& e) {
    return e.what();
  }
  // "ACCEPT [::]:PORT PID=N" (or 0.0.0.0 without IPv6) once it listens. Never
  // probe it with a bare connect (wait_for_port): openssl ocsp 3.0 spins on a
  // connection closed without a request and answers nobody after it.
  if (child_->wait_for_line("ACCEPT ", deadline)) {
    port_fixed_ = true;
    return ask(deadline);
  }
  std::string out = child_->output();
  if (!child_->running()) {
    *port_taken = out.find("Address already in use") != std::string::npos;
    return "exited: " + child_->command_line() + "\n" + out;
  }
  return "does not accept on port " + std::to_string(port_) +
         " in time: " + child_->command_line() + "\n" + out;
}

std::string OcspResponder::start(Millis deadline) {
  stop();
  auto until = std::chrono::steady_clock::now() + deadline;
  std::string why;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    auto left = std::chrono::duration_cast<Millis>(until - std::chrono::steady_clock::now());
    if (left <= Millis(0)) break;
    bool port_taken = false;
    why = try_start(left, &port_taken);
    if (why.empty()) return "";
    if (!port_taken) return why;
    // Another process holds the port: move while nobody depends on it,
    // else try again (it may be a connection of ours in its last moments).
    if (!port_fixed_) port_ = free_loopback_port();
  }
  return "port " + std::to_string(port_) + " stayed taken after " + std::to_string(kStartAttempts) +
         " attempts; last: " + why;
}

void OcspResponder::stop() {
  if (child_ && !child_->signal_and_wait(SIGTERM, Millis(5000))) child_->kill_group();
}

std::string OcspResponder::output() const {
  return earlier_output_ + (child_ ? child_->output() : std::string());
}

std::string OcspResponder::fetch(const X509* cert, const std::string& cert_id_digest) {
  std::string base = "fetch-" + std::to_string(++fetches_);
  write_cert(dir_ / (base + ".crt"), cert);
  CommandResult r =
      run_shell("timeout 15 openssl ocsp -issuer ca.crt -" + cert_id_digest + " -cert " +
                    shell_quote(base + ".crt") + " -url " + shell_quote(url()) +
                    " -no_nonce -noverify -respout " + shell_quote(base + ".der"),
                dir_, Millis(20000));
  std::error_code ec;
  if (!std::filesystem::exists(dir_ / (base + ".der"), ec) ||
      std::filesystem::file_size(dir_ / (base + ".der"), ec) == 0) {
    throw std::runtime_error("no OCSP response from " + url() + " (exit " + std::to_string(r.code) +
                             "):\n" + r.out + r.err + "\nresponder:\n" + output());
  }
  return read_text(dir_ / (base + ".der"));
}

}  // namespace tlsgate::test
