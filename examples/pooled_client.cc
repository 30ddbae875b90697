// pooled_client: libtlsgate's ClientPool, start to finish.
//
//   pooled_client CONFIG SCOPE HOST:PORT [LINE]
//
// Reads CONFIG with tlsgate's own loader, dials HOST:PORT under
// ssl.policy.SCOPE, sends LINE (default PING) twice and prints the replies —
// the second send reuses the first one's connection. Then it reloads the
// policy, as the gate does on SIGHUP or a file change, and shows the rule the
// pool follows: the idle connection is closed at once, and the next lease
// dials anew with the material just loaded.
#include <iostream>
#include <string>

#include "config/loader.h"
#include "config/value_parsers.h"
#include "net/client_pool.h"
#include "tls/context_registry.h"
#include "util/clock.h"

using namespace tlsgate;

namespace {

// Sends one line and returns the first line of the reply. The lease goes
// back to the pool when `conn` goes out of scope.
util::Result<std::string> ask(net::ClientPool& pool, const std::string& line) {
  auto conn = pool.lease();
  if (!conn) return util::fail(conn.error());
  if (auto sent = conn->write_all(line + "\r\n"); !sent) return util::fail(sent.error());
  std::string reply;
  char buf[512];
  while (reply.find('\n') == std::string::npos) {
    if (reply.size() > size_t{64} * 1024)
      return util::fail("the reply has no line end in its first 64 KiB");
    auto n = conn->read_some(buf);
    if (!n) return util::fail(n.error());
    if (*n == 0) return util::fail("the backend closed the connection before it replied");
    reply.append(buf, *n);
  }
  return reply.substr(0, reply.find_first_of("\r\n"));
}

void show(const char* when, const net::ClientPoolStats& s) {
  std::cout << when << ": " << s.idle << " idle, " << s.open << " open, " << s.dialed << " dialed, "
            << s.closed_stale << " closed after a reload\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::cerr << "usage: pooled_client CONFIG SCOPE HOST:PORT [LINE]\n";
    return 2;
  }
  const std::string scope = argv[2];
  const std::string line = argc == 5 ? argv[4] : "PING";

  auto loaded = config::load_config(argv[1], config::current_environment());
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics) std::cerr << config::format(d) << "\n";
    return 2;
  }
  const auto& policies = loaded.config->policies;
  auto policy = policies.find(scope);
  if (policy == policies.end() || !policy->second.enabled) {
    std::cerr << argv[1] << ": no enabled ssl.policy." << scope << "; add ssl.policy." << scope
              << ".enabled=true\n";
    return 2;
  }
  auto endpoint = config::parse_address(argv[3]);
  if (!endpoint) {
    std::cerr << argv[3] << ": " << endpoint.error().problem << "; " << endpoint.error().fix
              << "\n";
    return 2;
  }

  // One registry per process holds every policy's current context; pools
  // and the gate's listeners share it.
  tls::ContextRegistry registry({}, util::SystemClock::instance());
  net::ClientPool::Options options;
  options.endpoint = *endpoint;
  auto pool = net::ClientPool::create(registry, policy->second, options);
  if (!pool) {
    std::cerr << pool.error().message() << "\n";
    return 1;
  }

  for (int i = 0; i < 2; ++i) {
    auto reply = ask(*pool, line);
    if (!reply) {
      std::cerr << reply.error().message() << "\n";
      return 1;
    }
    std::cout << line << " -> " << *reply << "\n";
  }
  show("before the reload", pool->stats());

  // An embedder calls this from its own trigger (SIGHUP, tls::FileWatcher).
  for (const auto& r : registry.reload(policies, {scope})) {
    std::cout << "reload of ssl.policy." << r.scope << ": " << (r.ok ? "new context" : r.error)
              << "\n";
  }
  show("after the reload", pool->stats());

  auto reply = ask(*pool, line);
  if (!reply) {
    std::cerr << reply.error().message() << "\n";
    return 1;
  }
  std::cout << line << " -> " << *reply << "\n";
  show("after the next lease", pool->stats());
  return 0;
}
