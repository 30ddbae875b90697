#include "support/openssl_server.h"

#include <signal.h>

#include <stdexcept>

namespace tlsgate::test {

OpensslServer::OpensslServer(std::filesystem::path cert, std::filesystem::path key,
                             std::vector<std::string> extra)
    : argv_{"openssl", "s_server",    "-accept", "127.0.0.1:0",
            "-cert",   cert.string(), "-key",    key.string()} {
  argv_.insert(argv_.end(), extra.begin(), extra.end());
}

OpensslServer::~OpensslServer() { stop(); }

std::string OpensslServer::start(Millis deadline) {
  try {
    child_ = std::make_unique<ChildProcess>(argv_, ChildProcess::Options{.stdin_pipe = true});
  } catch (const std::exception& e) {
    return e.what();
  }
  auto accept = child_->wait_for_line("ACCEPT 127.0.0.1:", deadline);
  if (!accept) {
    return (child_->running() ? "no ACCEPT line in time from " : "exited: ") +
           child_->command_line() + "\n" + output();
  }
  try {
    port_ = std::stoi(*accept);
  } catch (const std::exception&) {
    return "cannot read the port of \"ACCEPT 127.0.0.1:" + *accept + "\"\n" + output();
  }
  if (!child_->wait_for_port(port_, deadline)) {
    return "does not accept on 127.0.0.1:" + std::to_string(port_) + ": " + child_->command_line() +
           "\n" + output();
  }
  return "";
}

void OpensslServer::stop() {
  // Keeps child_, so output() still tells what happened.
  if (child_ && !child_->signal_and_wait(SIGTERM, Millis(5000))) child_->kill_group();
}

std::string OpensslServer::output() const { return child_ ? child_->output() : std::string(); }

bool OpensslServer::wait_for_output(const std::string& needle, Millis deadline) {
  return child_ && child_->wait_for_output(needle, deadline);
}

}  // namespace tlsgate::test
