// How logs, errors and the admin API write a TCP endpoint: "ip:port", an
// IPv6 address in brackets ("[::1]:5432"), so that the port cannot be read
// as part of the address.
#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace tlsgate::net {

inline std::string endpoint_text(const boost::asio::ip::tcp::endpoint& e) {
  const auto a = e.address();
  std::string port = ":" + std::to_string(e.port());
  return a.is_v6() ? "[" + a.to_string() + "]" + port : a.to_string() + port;
}

}  // namespace tlsgate::net
