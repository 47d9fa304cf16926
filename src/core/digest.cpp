// SHA-256 hex and comparisons of secrets. Callable from any thread; no I/O.
#include "llmgate/digest.hpp"

#include <openssl/evp.h>

#include <memory>

namespace llmgate {

bool constant_time_equals(std::string_view a, std::string_view b) {
  // The length is not secret (it leaks through timing anyway); the content is.
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  // Keep the compiler from short-circuiting the loop through the accumulated value.
  volatile unsigned char sink = diff;
  return sink == 0;
}

namespace {
// EVP_Digest(..., EVP_sha256(), ...) looks the algorithm up in OpenSSL 3's provider store on
// every call (an implicit fetch: a name lookup under a lock) and allocates a context: ~4k of the
// ~6.3k instructions of hashing a virtual key per request. The algorithm is fetched once for the
// process and each thread keeps its context.
const EVP_MD* sha256_md() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // process lifetime
  return md;
}
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
}  // namespace

std::string sha256_hex(std::string_view s) {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const EVP_MD* md_type = sha256_md();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || !md_type || EVP_DigestInit_ex2(ctx.get(), md_type, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), s.data(), s.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), md, &len) != 1)
    return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(len) * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 0x0f];
  }
  return out;
}

bool secret_equals(std::string_view a, std::string_view b) {
  // Digests have one length whatever the inputs'; "" (OpenSSL failed) never matches.
  const std::string da = sha256_hex(a), db = sha256_hex(b);
  return !da.empty() && !db.empty() && constant_time_equals(da, db);
}

}  // namespace llmgate
