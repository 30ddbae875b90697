#include "tls/file_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace tlsgate::tls {
namespace {

constexpr uint32_t kEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                             IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF;

// The folders whose changes matter to a policy: those holding its key and
// certificate (renames into place land there) and its trust folders. A key
// on a token (pkcs11: URI) has no folder; its certificate file still reloads.
std::set<std::filesystem::path> folders_of(const config::Policy& p) {
  std::set<std::filesystem::path> out{p.base_directory, p.public_certificate.parent_path(),
                                      p.trusted_dir, p.revoked_dir};
  if (!config::is_pkcs11_uri(p.private_key)) out.insert(p.private_key.parent_path());
  out.erase(std::filesystem::path());
  return out;
}

}  // namespace

util::Result<std::unique_ptr<FileWatcher>> FileWatcher::create(
    const std::vector<config::Policy>& policies, std::chrono::milliseconds settle,
    OnChange on_change, const std::map<std::string, std::filesystem::path>& files) {
  util::Fd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify.valid()) {
    return util::fail(std::string("cannot watch certificate files: inotify: ") +
                      std::strerror(errno));  // NOLINT
  }
  util::Fd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) {
    // Without it stop() could not wake the thread, and shutdown would hang.
    return util::fail(std::string("cannot watch certificate files: eventfd: ") +
                      std::strerror(errno));  // NOLINT
  }
  std::unique_ptr<FileWatcher> w(
      new FileWatcher(std::move(inotify), std::move(wake), settle, std::move(on_change)));
  for (const auto& p : policies) {
    for (const auto& dir : folders_of(p)) {
      int wd = ::inotify_add_watch(w->inotify_.get(), dir.c_str(), kEvents);
      if (wd >= 0) w->scopes_by_watch_[wd].insert(p.scope);  // a missing folder is check's business
    }
  }
  for (const auto& [name, file] : files) {
    int wd = ::inotify_add_watch(w->inotify_.get(), file.parent_path().c_str(), kEvents);
    if (wd >= 0) w->scopes_by_watch_[wd].insert(name);
  }
  w->thread_ = std::thread([raw = w.get()] { raw->run(); });
  return w;
}

FileWatcher::FileWatcher(util::Fd inotify, util::Fd wake, std::chrono::milliseconds settle,
                         OnChange on_change)
    : inotify_(std::move(inotify)),
      wake_(std::move(wake)),
      settle_(settle),
      on_change_(std::move(on_change)) {}

FileWatcher::~FileWatcher() { stop(); }

void FileWatcher::stop() {
  if (stopping_.exchange(true)) return;
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void FileWatcher::run() {
  using Clock = std::chrono::steady_clock;
  std::map<std::string, Clock::time_point> due;  // scope -> when to report it
  alignas(inotify_event) std::array<char, 16 * 1024> buf{};
  while (!stopping_.load()) {
    int timeout = -1;
    if (!due.empty()) {
      auto next = std::min_element(due.begin(), due.end(),
                                   [](auto& a, auto& b) { return a.second < b.second; });
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next->second - Clock::now())
                      .count();
      timeout = static_cast<int>(std::max<long>(0, left));
    }
    std::array<pollfd, 2> fds{{{inotify_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}}};
    int rc = ::poll(fds.data(), fds.size(), timeout);
    if (rc < 0 && errno != EINTR) break;
    if (fds[1].revents != 0) break;
    if (fds[0].revents & POLLIN) {
      ssize_t n;
      while ((n = ::read(inotify_.get(), buf.data(), buf.size())) > 0) {
        for (ssize_t off = 0; off < n;) {
          const auto* ev = reinterpret_cast<const inotify_event*>(buf.data() + off);
          if (auto it = scopes_by_watch_.find(ev->wd); it != scopes_by_watch_.end()) {
            for (const auto& scope : it->second) due[scope] = Clock::now() + settle_;
          }
          off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        }
      }
    }
    for (auto it = due.begin(); it != due.end();) {
      if (it->second <= Clock::now()) {
        on_change_(it->first);
        it = due.erase(it);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace tlsgate::tls
