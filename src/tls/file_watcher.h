// FileWatcher: notices changes to the files and folders policies name, and
// reports each changed scope once the changes have settled (STYLE.md practice 5).
//
// Watches, with inotify, every folder that holds a watched path (so a file
// renamed into place, or a Kubernetes `..data` symlink swap, counts) and each
// trusted_dir and revoked_dir. Only events that name a watched file (or a
// `..` name: Kubernetes), anything in trusted_dir or revoked_dir, or a
// watched folder itself count: a log or a README in the folder changing does
// not reload. After an event for a scope it waits `settle`
// (server.reload_settle) past the last event, so a certificate and key
// written one after the other are read as a pair, then calls on_change(scope)
// on the watcher's own thread. stop() (or the destructor) ends the thread.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/settings.h"
#include "util/fd.h"
#include "util/result.h"

namespace tlsgate::tls {

// The names in a watched folder whose changes matter to one scope.
struct WatchedNames {
  bool any = false;             // every name (trusted_dir, revoked_dir)
  std::set<std::string> names;  // else these only (and Kubernetes "..*" names)
  void add(const WatchedNames& other) {
    any = any || other.any;
    names.insert(other.names.begin(), other.names.end());
  }
};

class FileWatcher {
 public:
  using OnChange = std::function<void(const std::string& scope)>;

  // `files` adds single files outside policies (a connector's user_map),
  // reported under their map key instead of a scope.
  static util::Result<std::unique_ptr<FileWatcher>> create(
      const std::vector<config::Policy>& policies, std::chrono::milliseconds settle,
      OnChange on_change, const std::map<std::string, std::filesystem::path>& files = {});
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  void stop();

 private:
  FileWatcher(util::Fd inotify, util::Fd wake, std::chrono::milliseconds settle,
              OnChange on_change);
  void run();

  util::Fd inotify_;
  util::Fd wake_;  // eventfd that stop() signals
  std::chrono::milliseconds settle_;
  OnChange on_change_;
  // By watch descriptor: the scopes it serves and the names that matter to
  // each. Written before the thread starts.
  std::map<int, std::map<std::string, WatchedNames>> scopes_by_watch_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace tlsgate::tls
