#include "llmgate/address_policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace llmgate {

namespace {

constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
constexpr std::uint8_t kNat64Prefix[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
constexpr std::uint8_t kZero12[12] = {};

// The IPv4 address an IPv6 form carries, or nullptr.
const std::uint8_t* embedded_v4(const std::uint8_t* b) {
  if (std::memcmp(b, kMappedPrefix, 12) == 0 || std::memcmp(b, kNat64Prefix, 12) == 0) return b + 12;
  // IPv4-compatible (::a.b.c.d, deprecated): everything but :: and ::1, which are IPv6's own.
  if (std::memcmp(b, kZero12, 12) == 0 && !(b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1)) return b + 12;
  return nullptr;
}

AddressClass classify_v4(const std::uint8_t* a) {
  const std::uint32_t v = (std::uint32_t(a[0]) << 24) | (std::uint32_t(a[1]) << 16) | (std::uint32_t(a[2]) << 8) | a[3];
  auto in = [v](std::uint32_t net, int bits) { return (v >> (32 - bits)) == (net >> (32 - bits)); };
  // Instance metadata services first: some lie inside ranges that are merely private.
  if (v == 0xA9FEA9FE      // 169.254.169.254: AWS, GCP, Azure, OCI, DigitalOcean, OpenStack
      || v == 0xA9FEAA02   // 169.254.170.2: AWS ECS task metadata
      || v == 0xA9FEAA17   // 169.254.170.23: AWS EKS pod identity
      || v == 0x646464C8   // 100.100.100.200: Alibaba Cloud
      || v == 0xC00000C0)  // 192.0.0.192: Oracle Cloud (legacy)
    return AddressClass::metadata;
  if (in(0x00000000, 8)) return AddressClass::unspecified;  // "this network"; 0.0.0.0 reaches the host itself
  if (in(0x7F000000, 8)) return AddressClass::loopback;
  if (in(0xA9FE0000, 16)) return AddressClass::link_local;
  if (in(0x0A000000, 8) || in(0xAC100000, 12) || in(0xC0A80000, 16) || in(0x64400000, 10))
    return AddressClass::private_net;
  if (in(0xE0000000, 4) || in(0xF0000000, 4)) return AddressClass::reserved;  // multicast, 240/4, broadcast
  return AddressClass::global;
}

AddressClass classify_v6(const std::uint8_t* b) {
  if (const std::uint8_t* v4 = embedded_v4(b)) return classify_v4(v4);
  static constexpr std::uint8_t kAwsImds[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  static constexpr std::uint8_t kGcpMetadata[16] = {0xfd, 0x20, 0x00, 0xce, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  if (std::memcmp(b, kAwsImds, 16) == 0 || std::memcmp(b, kGcpMetadata, 16) == 0) return AddressClass::metadata;
  if (std::memcmp(b, kZero12, 12) == 0) return b[15] == 1 ? AddressClass::loopback : AddressClass::unspecified;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressClass::link_local;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return AddressClass::private_net;  // fec0::/10, site-local
  if ((b[0] & 0xfe) == 0xfc) return AddressClass::private_net;                  // fc00::/7, unique local
  if (b[0] == 0xff) return AddressClass::reserved;                              // multicast
  return AddressClass::global;
}

std::string lower_host(std::string_view h) {
  std::string s(h);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

bool is_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

}  // namespace

const char* to_string(AddressClass c) {
  switch (c) {
    case AddressClass::global: return "public";
    case AddressClass::loopback: return "loopback";
    case AddressClass::private_net: return "private";
    case AddressClass::link_local: return "link-local";
    case AddressClass::metadata: return "cloud metadata";
    case AddressClass::unspecified: return "unspecified";
    case AddressClass::reserved: return "reserved";
  }
  return "unknown";
}

AddressClass classify_address(const std::uint8_t* bytes, std::size_t len) {
  if (len == 4) return classify_v4(bytes);
  if (len == 16) return classify_v6(bytes);
  return AddressClass::reserved;
}

IpBytes normalize_address(const std::uint8_t* bytes, std::size_t len) {
  IpBytes out{};
  std::memcpy(out.data(), kMappedPrefix, 12);
  if (len == 4) {
    std::memcpy(out.data() + 12, bytes, 4);
  } else if (len == 16) {
    if (const std::uint8_t* v4 = embedded_v4(bytes)) std::memcpy(out.data() + 12, v4, 4);
    else std::memcpy(out.data(), bytes, 16);
  }
  return out;
}

std::optional<IpBytes> parse_ip_literal(std::string_view host) {
  if (host.empty() || host.size() > 64) return std::nullopt;
  char buf[65];
  std::memcpy(buf, host.data(), host.size());
  buf[host.size()] = '\0';
  if (host.find(':') != std::string_view::npos) {
    std::uint8_t a6[16];
    if (::inet_pton(AF_INET6, buf, a6) != 1) return std::nullopt;
    return normalize_address(a6, 16);
  }
  // inet_aton is what getaddrinfo applies to a numeric host name: dotted parts of one to four,
  // each decimal, octal (leading 0) or hex (0x).
  in_addr a4{};
  if (::inet_aton(buf, &a4) == 0) return std::nullopt;
  return normalize_address(reinterpret_cast<const std::uint8_t*>(&a4.s_addr), 4);
}

std::string format_address(const IpBytes& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (std::memcmp(a.data(), kMappedPrefix, 12) == 0) ::inet_ntop(AF_INET, a.data() + 12, buf, sizeof buf);
  else ::inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  return buf;
}

bool IpNet::contains(const IpBytes& n) const {
  const int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(addr.data(), n.data(), full) != 0) return false;
  if (rest == 0) return true;
  const std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (addr[full] & mask) == (n[full] & mask);
}

std::optional<IpNet> parse_ip_net(std::string_view s) {
  const std::size_t slash = s.find('/');
  const std::string_view a = s.substr(0, slash);
  // Strict forms only here (the operator's allowlist): dotted quads and IPv6.
  IpNet net;
  int max_bits = 128;
  std::string buf(a);
  if (a.find(':') != std::string_view::npos) {
    std::uint8_t a6[16];
    if (::inet_pton(AF_INET6, buf.c_str(), a6) != 1) return std::nullopt;
    std::memcpy(net.addr.data(), a6, 16);
  } else {
    std::uint8_t a4[4];
    if (::inet_pton(AF_INET, buf.c_str(), a4) != 1) return std::nullopt;
    net.addr = normalize_address(a4, 4);
    max_bits = 32;
  }
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view p = s.substr(slash + 1);
    const auto r = std::from_chars(p.data(), p.data() + p.size(), bits);
    if (p.empty() || r.ec != std::errc() || r.ptr != p.data() + p.size() || bits < 0 || bits > max_bits)
      return std::nullopt;
  }
  net.prefix = max_bits == 32 ? 96 + bits : bits;
  // Bits past the prefix are cleared so that 10.1.2.3/8 means 10.0.0.0/8.
  for (int i = net.prefix; i < 128; ++i) net.addr[i / 8] &= static_cast<std::uint8_t>(~(0x80 >> (i % 8)));
  return net;
}

bool UpstreamAllowlist::allows_host(std::string_view host) const {
  if (hosts.empty()) return false;
  const std::string h = lower_host(host);
  return std::find(hosts.begin(), hosts.end(), h) != hosts.end();
}

bool UpstreamAllowlist::allows_address(const IpBytes& n) const {
  for (const IpNet& net : nets)
    if (net.contains(n)) return true;
  return false;
}

bool add_allowlist_entry(UpstreamAllowlist& l, std::string_view entry) {
  if (auto net = parse_ip_net(entry)) {
    l.nets.push_back(*net);
    return true;
  }
  if (entry.find('/') != std::string_view::npos || entry.find(':') != std::string_view::npos) return false;
  std::string h = lower_host(entry);
  if (!is_host_name(h)) return false;
  // A name the resolver would read as an address (127.1) is that address.
  if (auto a = parse_ip_literal(h)) {
    l.nets.push_back(IpNet{*a, 128});
    return true;
  }
  l.hosts.push_back(std::move(h));
  return true;
}

std::optional<AddressClass> refused_upstream_address(const IpBytes& n, std::string_view host, bool from_api,
                                                     const UpstreamAllowlist* allow) {
  const AddressClass c = classify_address(n);
  if (c == AddressClass::global) return std::nullopt;
  if (!from_api && (c == AddressClass::loopback || c == AddressClass::private_net)) return std::nullopt;
  if (allow && (allow->allows_address(n) || allow->allows_host(host))) return std::nullopt;
  return c;
}

std::optional<AddressClass> refused_upstream_host(std::string_view host, bool from_api,
                                                  const UpstreamAllowlist* allow) {
  if (auto a = parse_ip_literal(host)) return refused_upstream_address(*a, host, from_api, allow);
  const std::string h = lower_host(host);
  const bool local_name = h == "localhost" || (h.size() > 10 && h.compare(h.size() - 10, 10, ".localhost") == 0);
  if (!local_name || !from_api) return std::nullopt;
  if (allow && (allow->allows_host(h) ||
                allow->allows_address(normalize_address(std::array<std::uint8_t, 4>{127, 0, 0, 1}.data(), 4))))
    return std::nullopt;
  return AddressClass::loopback;
}

std::string address_refusal_message(std::string_view host, const IpBytes* addr, AddressClass c, bool from_api) {
  std::string m = "upstream host ";
  m += host;
  m += " is";
  if (addr) {
    if (const std::string shown = format_address(*addr); shown != host) {
      m += ' ';
      m += shown;
      m += ',';
    }
  }
  m += c == AddressClass::unspecified ? " an " : " a ";
  m += to_string(c);
  m += " address; ";
  const bool api_only = c == AddressClass::loopback || c == AddressClass::private_net;
  m += api_only && from_api ? "models added through the API may not use one" : "no model may use one";
  m += " unless llmgate_settings.upstream_allowlist lists it";
  return m;
}

bool is_url_name(std::string_view s) {
  if (s.empty() || s.size() > 256 || s.find("..") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

bool is_url_path(std::string_view s) {
  if (!s.empty() && s.front() != '/') return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '-' || c == '_' || c == '~' ||
          c == ':' || c == '+' || c == ',' || c == '='))
      return false;
  // No "." or ".." segment: an upstream (or a proxy before it) would resolve it to another path.
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = s.find('/', i + 1);
    if (j == std::string_view::npos) j = s.size();
    const std::string_view seg = s.substr(i + 1, j - i - 1);
    if (seg == "." || seg == "..") return false;
    i = j;
  }
  return true;
}

}  // namespace llmgate
