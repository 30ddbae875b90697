// Running the tools that change trust stores (update-ca-certificates, certutil, keytool) for
// `cert trust`: found on PATH, started without a shell, output collected.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "cli/cert_trust_store.h"
#include "util/strings.h"

extern char** environ;

namespace tlsgate::cli::trust {

namespace fs = std::filesystem;

// The CLI reads the environment on its only thread.
std::string env(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): one thread
  return value != nullptr ? value : "";
}

fs::path find_program(const std::string& name) {
  std::string path = env("PATH");
  auto dirs = util::split_list(path, ':');
  dirs.emplace_back("/usr/sbin");
  dirs.emplace_back("/sbin");
  for (const auto& d : dirs) {
    fs::path p = fs::path(d) / name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

ToolRun run_program(const std::vector<std::string>& argv) {
  ToolRun r;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    r.output = "cannot create a pipe: " + util::errno_text(errno);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int err = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (err != 0) {
    ::close(fds[0]);
    r.output = "cannot run " + argv[0] + ": " + util::errno_text(err);
    return r;
  }
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) r.output.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string command_line(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t'\"$\\,;&|<>*?()") == std::string::npos;
    out += plain ? a : "'" + a + "'";
  }
  return out;
}

}  // namespace tlsgate::cli::trust
