#include "tls/file_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace tlsgate::tls {
namespace {

constexpr uint32_t kEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                             IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF;

void add_name(std::map<std::filesystem::path, WatchedNames>& out,
              const std::filesystem::path& file) {
  if (file.empty() || file.parent_path().empty()) return;
  out[file.parent_path()].names.insert(file.filename().string());
}

// A log, a README or an editor's swap file changing in a policy's folder
// must not reload it (review s22 §5).
// The folders whose changes matter to a policy, and the names in each: its
// key and certificate (renames into place land in their folders), the
// contents of its trust folders, and those folders themselves (created or
// renamed into place in their parents). A key on a token (pkcs11: URI) has no
// folder; its certificate file still reloads.
std::map<std::filesystem::path, WatchedNames> folders_of(const config::Policy& p) {
  std::map<std::filesystem::path, WatchedNames> out;
  if (!config::is_pkcs11_uri(p.private_key)) add_name(out, p.private_key);
  add_name(out, p.public_certificate);
  for (const auto& dir : {p.trusted_dir, p.revoked_dir}) {
    if (dir.empty()) continue;
    out[dir].any = true;
    add_name(out, dir);
  }
  out.erase(std::filesystem::path());
  return out;
}

// A Kubernetes secret or configmap volume swaps its "..data" symlink (and
// "..2024_..." folders) by rename: the files the policy names are links
// into it, and change with it.
bool matters(const WatchedNames& f, std::string_view name) {
  if (f.any || name.empty()) return true;  // empty: the folder itself (deleted, moved)
  return f.names.count(std::string(name)) > 0 || name.starts_with("..");
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
  // By watch: two paths of one folder (a symlink) get one watch descriptor.
  auto watch = [&w](const std::filesystem::path& dir, const std::string& scope,
                    const WatchedNames& filter) {
    int wd = ::inotify_add_watch(w->inotify_.get(), dir.c_str(), kEvents);
    if (wd >= 0)
      w->scopes_by_watch_[wd][scope].add(filter);  // a missing folder is check's business
  };
  for (const auto& p : policies) {
    for (const auto& [dir, filter] : folders_of(p)) watch(dir, p.scope, filter);
  }
  for (const auto& [name, file] : files) {
    WatchedNames only_the_file;
    only_the_file.names.insert(file.filename().string());
    watch(file.parent_path(), name, only_the_file);
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
            std::string_view name = ev->len > 0 ? std::string_view(ev->name) : std::string_view();
            for (const auto& [scope, filter] : it->second) {
              if (matters(filter, name)) due[scope] = Clock::now() + settle_;
            }
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
