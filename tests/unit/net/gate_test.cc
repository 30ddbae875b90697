// net::Gate in this process: destroyed without run() while its file watcher
// is in the middle of a reload. Meant for the ASan build (make test-asan),
// where a watcher thread that touches destroyed members is a hard failure.
#include "net/gate.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "unit/net/in_process_gate.h"
#include "util/fd.h"

namespace tlsgate::net {
namespace {

using test_gate::wait_until;
constexpr std::chrono::seconds kPatience{10};

// Whether thread `tid` of this process sleeps in futex(2): joining a thread
// or waiting for a lock.
bool blocked_in_futex(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/syscall");
  long number = -1;
  f >> number;  // "running" leaves it at -1
  return number == SYS_futex;
}

// The default logger writes into a string for the test's length.
class CapturedLog {
 public:
  CapturedLog()
      : saved_(spdlog::default_logger()),
        logger_(std::make_shared<spdlog::logger>(
            "captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_))) {
    logger_->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger_);
  }
  ~CapturedLog() { spdlog::set_default_logger(saved_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::string text() {
    logger_->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> saved_;
  std::shared_ptr<spdlog::logger> logger_;
};

TEST(Gate, DestroyedWithoutRunWhileTheWatcherReloadsAUserMap) {
  CapturedLog log;
  test_gate::InProcessGate g;
  auto map = g.dir() / "maps" / "users.map";
  std::filesystem::create_directories(map.parent_path());
  test::write_text(map, "CN=alice alice\n");
  g.set("connector.db.protocol", "postgres");
  g.set("connector.db.upstream_address", "127.0.0.1:1");
  g.set("connector.db.user_map", map.string());
  g.set("server.reload_settle", "0");
  ASSERT_TRUE(g.create());

  // The map becomes a FIFO: the watcher's reload opens it and then waits in
  // read(2) for a writer, so the test knows where the watcher thread is.
  auto fifo = g.dir() / "users.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::filesystem::rename(fifo, map);
  util::Fd writer;
  ASSERT_TRUE(wait_until(
      [&] {
        writer.reset(::open(map.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));  // ENXIO: no reader
        return writer.valid();
      },
      kPatience))
      << "the watcher never opened the user_map";

  // Destroy the gate on another thread; it ends up waiting for the watcher.
  std::atomic<pid_t> destroyer{0};
  std::thread destroy([&] {
    destroyer = static_cast<pid_t>(::syscall(SYS_gettid));
    g.gate().reset();
  });
  ASSERT_TRUE(wait_until([&] { return destroyer != 0 && blocked_in_futex(destroyer); }, kPatience));

  // Now the watcher reads the new map and reloads it, reaching into the gate.
  const std::string text = "CN=alice alice\nCN=bob bob\n";
  EXPECT_EQ(::write(writer.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  writer.reset();
  destroy.join();
  EXPECT_FALSE(g.gate());
  EXPECT_NE(log.text().find("connector.db.user_map: reloaded"), std::string::npos) << log.text();
}

// Process limits are the embedding application's: Gate::create() leaves
// RLIMIT_NOFILE as it found it (tlsgate serve raises it), and admits under
// the soft limit in force.
TEST(Gate, LeavesTheDescriptorLimitToTheApplication) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max <= 1000) {
    GTEST_SKIP() << "the hard limit leaves no room below it";
  }
  rlimit lowered = saved;
  lowered.rlim_cur = 1000;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  CapturedLog log;
  test_gate::InProcessGate g;
  g.set("connector.db.upstream_address", "127.0.0.1:1");
  auto created = g.create();
  rlimit after{};
  ::getrlimit(RLIMIT_NOFILE, &after);
  g.gate().reset();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_TRUE(created);
  EXPECT_EQ(after.rlim_cur, 1000u) << "the gate changed the process's soft limit";
  EXPECT_NE(log.text().find("file descriptors: limit 1000 (RLIMIT_NOFILE)"), std::string::npos)
      << log.text();
}

}  // namespace
}  // namespace tlsgate::net
