// RAII owners for every OpenSSL type tlsgate touches (STYLE.md practice 7).
//
// Declared once, here; no raw *_free call appears anywhere else. Each alias
// is a std::unique_ptr whose deleter calls the matching OpenSSL free function.
// Stacks own their elements (sk_X509_pop_free / sk_X509_CRL_pop_free).
#pragma once

#include <memory>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace tlsgate::pki {

template <auto Fn>
struct Free {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};

inline void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
inline void free_crl_stack(STACK_OF(X509_CRL) * s) { sk_X509_CRL_pop_free(s, X509_CRL_free); }
inline void free_general_names(GENERAL_NAMES* n) { GENERAL_NAMES_free(n); }
inline void free_openssl_string(char* s) { OPENSSL_free(s); }
inline void free_openssl_bytes(unsigned char* s) { OPENSSL_free(s); }
inline void free_asn1_objects(STACK_OF(ASN1_OBJECT) * s) {
  sk_ASN1_OBJECT_pop_free(s, ASN1_OBJECT_free);
}
inline void free_extension_stack(STACK_OF(X509_EXTENSION) * s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
inline void free_safebag_stack(STACK_OF(PKCS12_SAFEBAG) * s) {
  sk_PKCS12_SAFEBAG_pop_free(s, PKCS12_SAFEBAG_free);
}
inline void free_pkcs7_stack(STACK_OF(PKCS7) * s) { sk_PKCS7_pop_free(s, PKCS7_free); }
// X509_get1_ocsp's list of URLs (freed like X509_get1_email's).
inline void free_string_stack(STACK_OF(OPENSSL_STRING) * s) { X509_email_free(s); }

using X509Ptr = std::unique_ptr<X509, Free<X509_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Free<X509_CRL_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Free<X509_NAME_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Free<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Free<free_x509_stack>>;
using X509CrlStackPtr = std::unique_ptr<STACK_OF(X509_CRL), Free<free_crl_stack>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, Free<X509_REVOKED_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Free<free_general_names>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Free<BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Free<ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, Free<ASN1_TIME_free>>;
using Pkcs12Ptr = std::unique_ptr<PKCS12, Free<PKCS12_free>>;
using OpensslString = std::unique_ptr<char, Free<free_openssl_string>>;
using OpensslBytes = std::unique_ptr<unsigned char, Free<free_openssl_bytes>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Free<GENERAL_NAME_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, Free<ASN1_STRING_free>>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, Free<ASN1_OCTET_STRING_free>>;
using Asn1BitStringPtr = std::unique_ptr<ASN1_BIT_STRING, Free<ASN1_BIT_STRING_free>>;
using Asn1ObjectStackPtr = std::unique_ptr<STACK_OF(ASN1_OBJECT), Free<free_asn1_objects>>;
using BasicConstraintsPtr = std::unique_ptr<BASIC_CONSTRAINTS, Free<BASIC_CONSTRAINTS_free>>;
using AuthorityKeyIdPtr = std::unique_ptr<AUTHORITY_KEYID, Free<AUTHORITY_KEYID_free>>;
using X509SigPtr = std::unique_ptr<X509_SIG, Free<X509_SIG_free>>;
using Pkcs8InfoPtr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, Free<PKCS8_PRIV_KEY_INFO_free>>;
using StringStackPtr = std::unique_ptr<STACK_OF(OPENSSL_STRING), Free<free_string_stack>>;
using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, Free<OCSP_REQUEST_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, Free<OCSP_RESPONSE_free>>;
using OcspBasicRespPtr = std::unique_ptr<OCSP_BASICRESP, Free<OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, Free<OCSP_CERTID_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Free<X509_REQ_free>>;
using X509ExtensionStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), Free<free_extension_stack>>;
using Pkcs12SafebagPtr = std::unique_ptr<PKCS12_SAFEBAG, Free<PKCS12_SAFEBAG_free>>;
using Pkcs12SafebagStackPtr = std::unique_ptr<STACK_OF(PKCS12_SAFEBAG), Free<free_safebag_stack>>;
using Pkcs7Ptr = std::unique_ptr<PKCS7, Free<PKCS7_free>>;
using Pkcs7StackPtr = std::unique_ptr<STACK_OF(PKCS7), Free<free_pkcs7_stack>>;

// Shared ownership of an X509 via X509_up_ref, for chains that outlive their source.
inline X509Ptr up_ref(X509* x) {
  X509_up_ref(x);
  return X509Ptr(x);
}
inline EvpPkeyPtr up_ref(EVP_PKEY* k) {
  EVP_PKEY_up_ref(k);
  return EvpPkeyPtr(k);
}
inline X509Ptr up_ref(const X509* x) { return up_ref(const_cast<X509*>(x)); }
inline EvpPkeyPtr up_ref(const EVP_PKEY* k) { return up_ref(const_cast<EVP_PKEY*>(k)); }

// For OpenSSL 3.0 functions that only read (or fill an internal cache) but
// take a non-const pointer: X509_sign's key, X509V3_set_ctx's issuer, ...
template <typename T>
T* unconst(const T* p) {
  return const_cast<T*>(p);
}

}  // namespace tlsgate::pki
