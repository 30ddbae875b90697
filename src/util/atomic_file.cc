#include "util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <optional>

#include "util/fd.h"
#include "util/secret.h"
#include "util/strings.h"

namespace tlsgate::util {
namespace {

Status write_all(int fd, std::string_view content, const std::filesystem::path& path) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write " + path.string() + ": " + errno_text(errno));
    content.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

std::filesystem::path folder_of(const std::filesystem::path& path) {
  return path.parent_path().empty() ? "." : path.parent_path();
}

// Writes content to a new temporary file beside path (mode set, fsynced, closed); returns its
// name. Nothing is left behind on failure.
Result<std::string> write_temp(const std::filesystem::path& path, std::string_view content,
                               mode_t mode) {
  std::filesystem::path dir = folder_of(path);
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmpXXXXXX")).string();
  int raw = ::mkstemp(tmpl.data());
  if (raw < 0) {
    return fail("cannot create a temporary file in " + dir.string() + ": " + errno_text(errno) +
                "; check that the folder exists and is writable");
  }
  Fd fd(raw);
  auto cleanup = [&] { ::unlink(tmpl.c_str()); };
  if (::fchmod(fd.get(), mode) != 0) {
    cleanup();
    return fail("cannot set mode on " + tmpl + ": " + errno_text(errno));
  }
  if (auto st = write_all(fd.get(), content, path); !st) {
    cleanup();
    return fail(st.error());
  }
  if (::fsync(fd.get()) != 0) {
    cleanup();
    return fail("cannot fsync " + path.string() + ": " + errno_text(errno));
  }
  return tmpl;
}

void fsync_folder(const std::filesystem::path& dir) {
  Fd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirfd.valid()) ::fsync(dirfd.get());
}

}  // namespace

Status write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode) {
  auto tmp = write_temp(path, content, mode);
  if (!tmp) return fail(tmp.error());
  if (::rename(tmp->c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp->c_str());
    return fail("cannot rename into " + path.string() + ": " + errno_text(err));
  }
  fsync_folder(folder_of(path));
  return {};
}

Status write_files_atomic(const std::vector<FileWrite>& files) {
  struct Step {
    std::string tmp;                         // the new content, until renamed
    std::string backup;                      // a hard link to the old target; "" when there is none
    std::optional<std::string> old_content;  // where no link could be made: the old bytes
    mode_t old_mode = 0;
    bool renamed = false;
  };
  std::vector<Step> steps;
  // Removes what is left of the attempt: temporaries not renamed, and the links that kept the
  // old files.
  auto discard = [&] {
    for (auto& s : steps) {
      if (!s.renamed) ::unlink(s.tmp.c_str());
      if (!s.backup.empty()) ::unlink(s.backup.c_str());
      if (s.old_content) wipe(*s.old_content);  // it may be a private key
    }
  };
  for (const auto& f : files) {
    auto tmp = write_temp(f.path, f.content, f.mode);
    if (!tmp) {
      discard();
      return fail(tmp.error());
    }
    steps.push_back(Step{*tmp, "", std::nullopt, 0, false});
    struct stat st {};
    // A folder in the way is not kept: renaming over it fails below, and that undoes the rest.
    if (::lstat(f.path.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
    std::string backup = *tmp + ".old";
    if (::link(f.path.c_str(), backup.c_str()) == 0) {
      steps.back().backup = backup;
      continue;
    }
    // No hard link (an immutable file, a file system without links): keep the bytes instead.
    auto old = read_file(f.path);
    if (!old) {
      discard();
      return fail("cannot keep the old " + f.path.string() +
                  " while replacing it: " + old.error().message() + "; nothing was changed");
    }
    steps.back().old_content = std::move(*old);
    steps.back().old_mode = st.st_mode & 07777;
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (::rename(steps[i].tmp.c_str(), files[i].path.c_str()) == 0) {
      steps[i].renamed = true;
      continue;
    }
    int err = errno;
    std::string message = "cannot rename into " + files[i].path.string() + ": " + errno_text(err);
    std::vector<std::string> stuck;
    for (size_t j = 0; j < i; ++j) {
      const auto& target = files[j].path;
      std::string why;
      if (!steps[j].backup.empty()) {
        if (::rename(steps[j].backup.c_str(), target.c_str()) != 0) {
          why = errno_text(errno) + "; the old one is " + steps[j].backup;
        }
        steps[j].backup.clear();  // renamed back, or kept for the user
      } else if (steps[j].old_content) {
        if (auto st = write_file_atomic(target, *steps[j].old_content, steps[j].old_mode); !st) {
          why = st.error().message();
        }
      } else if (::unlink(target.c_str()) != 0) {
        why = errno_text(errno);
      }
      if (!why.empty()) stuck.push_back(target.string() + " (" + why + ")");
    }
    discard();
    for (const auto& f : files) fsync_folder(folder_of(f.path));
    if (!stuck.empty()) {
      return fail(message + "; and cannot undo the change of " + join(stuck, ", ") +
                  ": put the old files back by hand");
    }
    return fail(message + "; nothing was changed");
  }
  discard();
  for (const auto& f : files) fsync_folder(folder_of(f.path));
  return {};
}

Result<std::string> read_file(const std::filesystem::path& path, size_t max) {
  // A FIFO is read as any reader reads one: the open waits for its writer
  // (the gate's tests hold its file watcher that way).
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return fail(path.string() + ": no such file");
    return fail(path.string() + ": cannot read (" + errno_text(err) + "); check its permissions");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return fail(path.string() + ": is a folder, not a file");
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(path.string() + ": read error (" + errno_text(errno) + ")");
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > max) {
      return fail(path.string() + ": larger than " + std::to_string(max >> 20) +
                  " MiB; no configuration, certificate, key or CRL file is this large: is it a "
                  "device or a pipe that never ends?");
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace tlsgate::util
