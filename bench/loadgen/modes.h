// The modes of tlsgate-loadgen, one function each: argv is what follows the
// mode's name; each prints one JSON line of results on stdout and returns
// the process exit status.
#pragma once

namespace tlsgate::bench {

int run_backend(int argc, char** argv);    // plaintext echo/sink/source server
int run_handshake(int argc, char** argv);  // full or resumed handshakes
int run_idle(int argc, char** argv);       // N idle TLS connections held open
int run_latency(int argc, char** argv);    // 1 KiB ping-pong at a fixed rate
int run_bulk(int argc, char** argv);       // one stream as fast as it goes
int run_reload(int argc, char** argv);     // certificate rotations under load
int run_freeport(int argc, char** argv);   // free loopback ports for the systems

}  // namespace tlsgate::bench
