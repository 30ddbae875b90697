// TCP on 127.0.0.1 for tests: a port nobody uses, and connects.
//
// Prefer binding port 0 and reading the port back wherever the program under
// test can report it (EchoServer, OpensslServer do). free_loopback_port() is
// for programs that must be told a port in advance (the gate, with one
// SO_REUSEPORT listener per worker; PostgreSQL, MariaDB and Redis, which
// take port 0 as "no TCP" or "the default port").
#pragma once

namespace tlsgate::test {

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read
// the port the kernel chose, close), and not given out by this process
// lately.
int free_loopback_port();

// A blocking TCP socket connected to 127.0.0.1:port (close-on-exec); -1
// when the connect fails.
int connect_loopback(int port);

// One connect attempt to 127.0.0.1:port, closed at once without a byte;
// true when it was accepted.
bool loopback_port_accepts(int port);

// A socket bound to 127.0.0.1:0 and listening (close-on-exec); *port gets
// the port the kernel chose. Throws std::runtime_error when it cannot.
int listen_loopback(int* port, int backlog = 64);

}  // namespace tlsgate::test
