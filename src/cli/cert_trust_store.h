// Internal to `tlsgate cert trust` (cert_trust*.cc): what the steps for the
// system store (cert_trust_system.cc), NSS (cert_trust_nss.cc) and Java's
// cacerts (cert_trust_java.cc) share.
//
// A TrustRun is one `cert trust install|uninstall` of one CA: the steps read
// the CA, its name and the action from it and report through it (say() prints
// a line, fail() prints an error and makes the exit code 1; a failing step
// does not stop the others). A TrustRun borrows the options and the CA
// certificate, which must outlive it. The CLI runs on one thread.
#pragma once

#include <openssl/x509.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tlsgate::cli::trust {

struct TrustOptions {
  std::string action;  // "install" or "uninstall"
  std::filesystem::path ca;
  bool system = false;
  bool nss = false;
  bool java = false;
  std::filesystem::path root;  // "" for "/"
  std::string name;            // --name; "" for the default
};

// An external tool: where it is and what running it gave.
struct ToolRun {
  int code = -1;       // exit status (128 + signal); -1 when it could not be started
  std::string output;  // stdout and stderr
};
// An environment variable, "" when unset.
std::string env(const char* name);
// The program on $PATH (then /usr/sbin and /sbin, where update-ca-certificates lives), or "".
std::filesystem::path find_program(const std::string& name);
// Runs argv (no shell, stdin /dev/null) and collects its output.
ToolRun run_program(const std::vector<std::string>& argv);
// argv as a shell command line a person can paste (quoted where needed).
std::string command_line(const std::vector<std::string>& argv);

// An entry of a store that keeps certificates by name (NSS nickname, Java alias).
struct Entry {
  bool present = false;
  std::string other;  // when it holds another certificate than our CA: which; else ""
};

class TrustRun {
 public:
  // NAME: the entry's name; OLD_NAME: where an earlier tlsgate put the CA by default ("" with
  // --name).
  TrustRun(const TrustOptions& o, const X509* ca, std::string pem, std::string name,
           std::string old_name);

  bool installing() const { return install_; }
  const TrustOptions& options() const { return o_; }
  const std::string& pem() const { return pem_; }  // the CA certificate
  const std::string& name() const { return name_; }
  const std::string& old_name() const { return old_name_; }
  // ROOT of --root, "/" without it.
  std::filesystem::path root() const;
  int code() const;

  void say(const std::string& line) const;
  void fail(const std::string& step, const std::string& why);
  // Fails STEP: WHERE holds OTHER instead of our CA, and it is left as it is.
  void held_by_other(const std::string& step, const std::string& where, const std::string& other);
  // The `tlsgate cert trust` command line that undoes this step.
  std::string undo(const std::string& flag) const;

  // "" when FILE holds our CA's certificate, else what it holds instead.
  std::string holds_other(const std::filesystem::path& file) const;
  // Runs a command that prints the entry's certificate as PEM (certutil -a, keytool -rfc).
  Entry entry(const std::vector<std::string>& argv) const;
  // The entry under name(); on uninstall without --name, when there is none, the entry under
  // old_name() if it holds this CA (*CHOSEN becomes that name).
  Entry pick(const std::function<Entry(const std::string&)>& lookup, std::string* chosen) const;

 private:
  std::string other_than_ours(const X509* found) const;

  const TrustOptions& o_;
  const X509* ca_;
  std::string pem_;
  std::string name_;
  std::string old_name_;
  bool install_;
  bool failed_ = false;
};

// A store that keeps certificates by name and is changed through a tool (NSS through certutil,
// cacerts through keytool): the commands, and the words for its messages.
struct NamedStore {
  std::string step;               // "nss", "java": the prefix of each line
  std::string where;              // the store as messages name it
  std::filesystem::path tmp_dir;  // where the CA's PEM is put for the add command
  std::string added_note;  // after the name in "added NAME…": what the entry is trusted for
  std::string undo_flag;   // --nss, --java
  std::function<std::vector<std::string>(const std::string& name)> show;  // prints it as PEM
  std::function<std::vector<std::string>(const std::string& name, const std::string& pem_file)> add;
  std::function<std::vector<std::string>(const std::string& name)> remove;
};
// Adds the CA to STORE or removes it, as RUN asks; an entry of that name that holds another
// certificate is left alone.
void update_named_store(TrustRun& run, const NamedStore& store);

// The steps, one per store.
void update_system(TrustRun& run);
void update_nss(TrustRun& run);
void update_java(TrustRun& run);

}  // namespace tlsgate::cli::trust
