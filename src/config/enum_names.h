// The spelling of every settings enum, in one place (internal to config).
//
// to_string() in settings.cc, the allowed values in key_docs.cc and the
// value parser all read these tables, so a spelling cannot drift between the
// file format, the messages and `check --explain`.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/settings.h"

namespace tlsgate::config::detail {

template <typename E, size_t N>
using NameTable = std::array<std::pair<E, std::string_view>, N>;

inline constexpr NameTable<ClientAuth, 3> kClientAuthNames{{{ClientAuth::kNone, "NONE"},
                                                            {ClientAuth::kOptional, "OPTIONAL"},
                                                            {ClientAuth::kRequire, "REQUIRE"}}};
inline constexpr NameTable<TlsLevel, 3> kTlsLevelNames{{{TlsLevel::kDisabled, "DISABLED"},
                                                        {TlsLevel::kOptional, "OPTIONAL"},
                                                        {TlsLevel::kRequired, "REQUIRED"}}};
inline constexpr NameTable<Protocol, 4> kProtocolNames{{{Protocol::kTcp, "tcp"},
                                                        {Protocol::kPostgres, "postgres"},
                                                        {Protocol::kMysql, "mysql"},
                                                        {Protocol::kNats, "nats"}}};
inline constexpr NameTable<IdentityFrom, 5> kIdentityFromNames{
    {{IdentityFrom::kSubject, "subject"},
     {IdentityFrom::kCn, "cn"},
     {IdentityFrom::kSanEmail, "san_email"},
     {IdentityFrom::kSanDns, "san_dns"},
     {IdentityFrom::kSanUri, "san_uri"}}};
inline constexpr NameTable<RevocationChecks, 3> kRevocationChecksNames{
    {{RevocationChecks::kNone, "NONE"},
     {RevocationChecks::kIfPresent, "IF_PRESENT"},
     {RevocationChecks::kStrict, "STRICT"}}};
inline constexpr NameTable<StaleCrl, 2> kStaleCrlNames{
    {{StaleCrl::kWarn, "WARN"}, {StaleCrl::kReject, "REJECT"}}};
inline constexpr NameTable<ProxyProtocol, 2> kProxyProtocolNames{
    {{ProxyProtocol::kOff, "off"}, {ProxyProtocol::kV2, "v2"}}};
inline constexpr NameTable<LogLevel, 4> kLogLevelNames{{{LogLevel::kError, "error"},
                                                        {LogLevel::kWarn, "warn"},
                                                        {LogLevel::kInfo, "info"},
                                                        {LogLevel::kDebug, "debug"}}};
inline constexpr NameTable<LogFormat, 2> kLogFormatNames{
    {{LogFormat::kText, "text"}, {LogFormat::kJson, "json"}}};
inline constexpr NameTable<AcmeChallenge, 2> kAcmeChallengeNames{
    {{AcmeChallenge::kTlsAlpn01, "tls-alpn-01"}, {AcmeChallenge::kHttp01, "http-01"}}};
inline constexpr NameTable<AcmeKeyType, 2> kAcmeKeyTypeNames{
    {{AcmeKeyType::kEcdsaP256, "ecdsa-p256"}, {AcmeKeyType::kRsa2048, "rsa-2048"}}};

inline const auto& names_for(ClientAuth) { return kClientAuthNames; }
inline const auto& names_for(TlsLevel) { return kTlsLevelNames; }
inline const auto& names_for(Protocol) { return kProtocolNames; }
inline const auto& names_for(IdentityFrom) { return kIdentityFromNames; }
inline const auto& names_for(RevocationChecks) { return kRevocationChecksNames; }
inline const auto& names_for(StaleCrl) { return kStaleCrlNames; }
inline const auto& names_for(ProxyProtocol) { return kProxyProtocolNames; }
inline const auto& names_for(LogLevel) { return kLogLevelNames; }
inline const auto& names_for(LogFormat) { return kLogFormatNames; }
inline const auto& names_for(AcmeChallenge) { return kAcmeChallengeNames; }
inline const auto& names_for(AcmeKeyType) { return kAcmeKeyTypeNames; }

// Every spelling of E, in declaration order: the "allowed" column of key_docs().
template <typename E>
std::vector<std::string> spellings() {
  std::vector<std::string> out;
  for (const auto& [value, name] : names_for(E{})) out.emplace_back(name);
  return out;
}

template <typename E>
std::string spelling(E v) {
  for (const auto& [value, name] : names_for(v)) {
    if (value == v) return std::string(name);
  }
  return "?";
}

// NAME must be a canonical spelling (the value parser has already checked it).
template <typename E>
E enum_from(std::string_view name) {
  for (const auto& [value, n] : names_for(E{})) {
    if (n == name) return value;
  }
  return E{};
}

}  // namespace tlsgate::config::detail
