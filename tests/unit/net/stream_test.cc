// net::Stream over a real loopback TCP connection with a real TLS 1.3
// handshake: the socket BIO's gather (write_more + flush), back-pressure
// through it, and reads that take several records at once.
#include "net/stream.h"

#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "support/test_pki.h"

namespace tlsgate::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

bool readable(Stream& s, int timeout_ms) {
  pollfd p{s.fd(), POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

// A server Stream and a client Stream joined by TLS 1.3 on 127.0.0.1.
class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = test::make_test_ca();
    auto leaf = test::make_leaf(ca, {"localhost"});
    server_ctx_.reset(SSL_CTX_new(TLS_server_method()));
    client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
    ASSERT_EQ(SSL_CTX_use_certificate(server_ctx_.get(), leaf.cert.get()), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey(server_ctx_.get(), leaf.key.get()), 1);
    for (SSL_CTX* c : {server_ctx_.get(), client_ctx_.get()}) {
      SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
      SSL_CTX_set_read_ahead(c, 1);  // as tls::Context sets it
      SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    }

    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_socket_.connect(acceptor.local_endpoint());
    server_socket_ = acceptor.accept();
    for (tcp::socket* s : {&server_socket_, &client_socket_}) s->non_blocking(true);
    server_.emplace(server_socket_.native_handle());
    client_.emplace(client_socket_.native_handle());
    ASSERT_TRUE(server_->attach_tls(tls::SslPtr(SSL_new(server_ctx_.get()))));
    ASSERT_TRUE(client_->attach_tls(tls::SslPtr(SSL_new(client_ctx_.get()))));
    SSL_set_accept_state(server_->ssl());
    SSL_set_connect_state(client_->ssl());
    bool server_done = false, client_done = false;
    for (int round = 0; round < 1000 && !(server_done && client_done); ++round) {
      if (!client_done) client_done = step(*client_);
      if (!server_done) server_done = step(*server_);
    }
    ASSERT_TRUE(server_done && client_done) << "the TLS handshake did not finish";
  }

  // One non-blocking handshake step; true once done.
  static bool step(Stream& s) {
    auto r = s.handshake();
    EXPECT_NE(r.status, Io::kError);
    if (r.status == Io::kOk) return true;
    readable(s, 10);
    return false;
  }

  // Reads from `s` until `want` bytes arrived or nothing came for a while.
  static std::string drain(Stream& s, size_t want) {
    std::string got;
    std::string buf(Stream::Gather::kCorkBytes, '\0');
    for (int idle = 0; got.size() < want && idle < 100;) {
      auto r = s.read(buf.data(), buf.size());
      if (r.status == Io::kOk) {
        got.append(buf.data(), r.bytes);
        idle = 0;
      } else if (r.status == Io::kWantRead) {
        ++idle;
        readable(s, 20);
      } else {
        ADD_FAILURE() << "read failed";
        break;
      }
    }
    return got;
  }

  static size_t gathered(Stream& s) { return BIO_ctrl_wpending(SSL_get_wbio(s.ssl())); }

  asio::io_context io_;
  CtxPtr server_ctx_, client_ctx_;
  tcp::socket server_socket_{io_}, client_socket_{io_};  // each outlives its Stream
  std::optional<Stream> server_, client_;
};

TEST_F(StreamTest, WriteMoreHoldsRecordsUntilFlush) {
  const std::string data = pattern(3000);
  for (size_t off = 0; off < data.size(); off += 1000) {
    auto r = server_->write_more(data.data() + off, 1000);
    ASSERT_EQ(r.status, Io::kOk);
    ASSERT_EQ(r.bytes, 1000u);
  }
  EXPECT_GT(gathered(*server_), 3000u);  // three records with their overhead
  // The handshake's session ticket may be on the wire already; no record of
  // ours is. Anything readable must therefore yield no application data.
  if (readable(*client_, 50)) {
    char byte;
    EXPECT_EQ(client_->read(&byte, 1).status, Io::kWantRead);
  }
  ASSERT_EQ(server_->flush().status, Io::kOk);
  EXPECT_EQ(gathered(*server_), 0u);
  EXPECT_EQ(drain(*client_, data.size()), data);
}

TEST_F(StreamTest, WriteSendsGatheredBytesFirst) {
  const std::string first = pattern(5000), second = "and then this";
  ASSERT_EQ(server_->write_more(first.data(), first.size()).bytes, first.size());
  ASSERT_EQ(server_->write(second.data(), second.size()).bytes, second.size());
  EXPECT_EQ(gathered(*server_), 0u);
  EXPECT_EQ(drain(*client_, first.size() + second.size()), first + second);
}

TEST_F(StreamTest, BackPressureThroughTheGatherLosesNoByte) {
  int small = 16384;
  ::setsockopt(server_->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  const std::string data = pattern(4 * 1024 * 1024 + 13);
  size_t sent = 0;
  bool blocked = false;
  while (sent < data.size()) {
    auto r = server_->write_more(data.data() + sent, std::min<size_t>(65536, data.size() - sent));
    if (r.status == Io::kOk) {
      sent += r.bytes;
      continue;
    }
    ASSERT_EQ(r.status, Io::kWantWrite);
    blocked = true;
    break;
  }
  ASSERT_TRUE(blocked) << "4 MiB went out without the peer reading: the socket never filled";
  EXPECT_LE(gathered(*server_), Stream::Gather::kCorkBytes);
  EXPECT_EQ(server_->flush().status, Io::kWantWrite);

  // The peer reads; the writer resumes whenever the socket has room.
  std::string got;
  std::string buf(65536, '\0');
  for (int rounds = 0; rounds < 100000 && got.size() < data.size(); ++rounds) {
    auto r = client_->read(buf.data(), buf.size());
    if (r.status == Io::kOk) got.append(buf.data(), r.bytes);
    ASSERT_NE(r.status, Io::kError);
    ASSERT_NE(r.status, Io::kEof);
    if (sent < data.size()) {
      auto w = server_->write_more(data.data() + sent, std::min<size_t>(65536, data.size() - sent));
      if (w.status == Io::kOk) sent += w.bytes;
      ASSERT_TRUE(w.status == Io::kOk || w.status == Io::kWantWrite);
    } else {
      auto f = server_->flush();
      ASSERT_TRUE(f.status == Io::kOk || f.status == Io::kWantWrite);
    }
    if (r.status == Io::kWantRead) readable(*client_, 1);
  }
  ASSERT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data) << "bytes differ after back-pressure";
  EXPECT_EQ(gathered(*server_), 0u);
}

TEST_F(StreamTest, ReadTakesEveryRecordAlreadyHere) {
  const std::string data = pattern(4 * 16384);
  for (size_t off = 0; off < data.size(); off += 16384) {
    ASSERT_EQ(server_->write(data.data() + off, 16384).bytes, 16384u);  // four records
  }
  ASSERT_TRUE(readable(*client_, 1000));
  ::poll(nullptr, 0, 50);  // let loopback deliver all four
  std::string buf(data.size(), '\0');
  auto r = client_->read(buf.data(), buf.size());
  ASSERT_EQ(r.status, Io::kOk);
  EXPECT_GT(r.bytes, 16384u) << "one record per read: the read-ahead loop is gone";
  buf.resize(r.bytes);
  EXPECT_EQ(buf + drain(*client_, data.size() - r.bytes), data);
}

TEST_F(StreamTest, AShortReadSaysTheSourceIsDrainedAFullOneDoesNot) {
  const std::string data = pattern(3000);
  ASSERT_EQ(server_->write(data.data(), data.size()).bytes, data.size());
  ASSERT_TRUE(readable(*client_, 1000));
  std::string buf(1000, '\0');
  auto full = client_->read(buf.data(), buf.size());
  ASSERT_EQ(full.status, Io::kOk);
  EXPECT_EQ(full.bytes, 1000u);
  EXPECT_FALSE(full.drained) << "a full buffer says nothing about what is left";
  buf.resize(4000);
  auto rest = client_->read(buf.data(), buf.size());
  ASSERT_EQ(rest.status, Io::kOk);
  EXPECT_EQ(rest.bytes, 2000u);
  EXPECT_TRUE(rest.drained);
}

TEST_F(StreamTest, CloseNotifyAfterGatheredDataArrivesInOrder) {
  const std::string data = pattern(10000);
  ASSERT_EQ(server_->write_more(data.data(), data.size()).bytes, data.size());
  ASSERT_EQ(server_->shutdown_write(false).status, Io::kOk);
  EXPECT_EQ(drain(*client_, data.size()), data);
  char byte;
  Io last = Io::kWantRead;
  for (int i = 0; i < 100 && last == Io::kWantRead; ++i) {
    last = client_->read(&byte, 1).status;
    if (last == Io::kWantRead) readable(*client_, 20);
  }
  EXPECT_EQ(last, Io::kEof);
}

// After detach() the owner closes the socket and the kernel may hand its
// number to the next socket opened: the Stream must never write to that one.
TEST_F(StreamTest, DetachedStreamNeverReachesItsOldDescriptorNumber) {
  int pair[2];  // opened first, so that neither takes the old number itself
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
  const int old_fd = server_socket_.native_handle();
  server_->detach();
  EXPECT_EQ(server_->fd(), -1);
  server_socket_.close();
  ASSERT_EQ(::dup2(pair[0], old_fd), old_fd);  // the old number, now someone else's socket
  const std::string data = "must not arrive";
  EXPECT_EQ(server_->write(data.data(), data.size()).status, Io::kError);
  EXPECT_EQ(server_->write_more(data.data(), data.size()).status, Io::kError);
  EXPECT_EQ(server_->flush().status, Io::kError);
  EXPECT_EQ(server_->shutdown_write().status, Io::kError);
  char byte;
  EXPECT_EQ(server_->read(&byte, 1).status, Io::kError);
  pollfd p{pair[1], POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 50), 0) << "bytes reached the socket that took the old number";
  ::close(old_fd);
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST(Stream, DetachedPlainStreamDoesNoIo) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
  Stream s(pair[0]);
  s.detach();
  char byte = 'x';
  EXPECT_EQ(s.write(&byte, 1).status, Io::kError);
  EXPECT_EQ(s.read(&byte, 1).status, Io::kError);
  pollfd p{pair[1], POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST(Stream, LimitUnsentSetsTheSocketsLowWaterMark) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
  boost::asio::ip::tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  Stream s(client.native_handle());
  s.limit_unsent();
  int value = 0;
  socklen_t size = sizeof value;
  ASSERT_EQ(::getsockopt(client.native_handle(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &value, &size), 0);
  EXPECT_EQ(value, Stream::kUnsentLowWater);
}


// Plain Streams on a loopback TCP pair: what read() says about the socket it
// leaves behind, which decides whether the session may wait without a look.
class PlainStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer_.connect(acceptor.local_endpoint());
    ours_ = acceptor.accept();
    ours_.non_blocking(true);
    stream_.emplace(ours_.native_handle());
  }

  // Waits (bounded) until the kernel has the peer's FIN.
  bool fin_arrived() {
    pollfd p{ours_.native_handle(), POLLRDHUP, 0};
    return ::poll(&p, 1, 2000) == 1;
  }

  asio::io_context io_;
  tcp::socket peer_{io_}, ours_{io_};
  std::optional<Stream> stream_;
};

TEST_F(PlainStreamTest, AReadThatTookEverythingSaysDrained) {
  asio::write(peer_, asio::buffer(std::string("hello")));
  pollfd p{ours_.native_handle(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  char buf[100];
  auto r = stream_->read(buf, sizeof buf);
  ASSERT_EQ(r.status, Io::kOk);
  EXPECT_EQ(r.bytes, 5u);
  EXPECT_TRUE(r.drained);
  EXPECT_EQ(stream_->read(buf, sizeof buf).status, Io::kWantRead);
}

// A short read does not mean an empty socket: a FIN behind the data stays
// readable, and no new edge would ever announce it to a waiting session.
TEST_F(PlainStreamTest, AShortReadWithTheFinBehindItIsNotDrained) {
  asio::write(peer_, asio::buffer(std::string("last words")));
  peer_.shutdown(tcp::socket::shutdown_send);
  ASSERT_TRUE(fin_arrived());
  char buf[100];
  auto r = stream_->read(buf, sizeof buf);
  ASSERT_EQ(r.status, Io::kOk);
  EXPECT_EQ(std::string(buf, r.bytes), "last words");
  EXPECT_FALSE(r.drained) << "the FIN is still to be read";
  EXPECT_EQ(stream_->read(buf, sizeof buf).status, Io::kEof);
}

// A TLS read that leaves the close_notify and the FIN behind its data is not
// drained either (StreamTest's pair, the server closing its side).
TEST_F(StreamTest, ATlsReadWithTheFinBehindItIsNotDrained) {
  const std::string data = pattern(500);
  ASSERT_EQ(server_->write(data.data(), data.size()).bytes, data.size());
  ASSERT_EQ(server_->shutdown_write(true).status, Io::kOk);
  pollfd p{client_->fd(), POLLRDHUP, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  std::string buf(4000, '\0');
  IoResult r{Io::kWantRead};
  // The session ticket records may come first: read until the data does.
  for (int i = 0; i < 10 && r.status != Io::kOk; ++i) r = client_->read(buf.data(), buf.size());
  ASSERT_EQ(r.status, Io::kOk);
  EXPECT_EQ(buf.substr(0, r.bytes), data);
  EXPECT_FALSE(r.drained) << "close_notify and FIN are still to be read";
  EXPECT_EQ(client_->read(buf.data(), buf.size()).status, Io::kEof);
}

// What Session relies on when it skips the per-socket options: the kernel
// copies them from the listener to every socket it accepts.
TEST(StreamListener, AcceptedSocketsInheritWhatPrepareListenerSets) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  ASSERT_TRUE(Stream::prepare_listener(acceptor.native_handle()));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket accepted = acceptor.accept();
  auto option = [&](int name) {
    int value = 0;
    socklen_t len = sizeof value;
    EXPECT_EQ(::getsockopt(accepted.native_handle(), IPPROTO_TCP, name, &value, &len), 0);
    return value;
  };
  EXPECT_NE(option(TCP_NODELAY), 0);
  EXPECT_NE(option(TCP_INQ), 0);
  EXPECT_EQ(option(TCP_NOTSENT_LOWAT), Stream::kUnsentLowWater);
}

}  // namespace
}  // namespace tlsgate::net
