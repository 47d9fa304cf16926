#pragma once
// The upstream address policy: which addresses a deployment may connect to, and which names may
// become part of an upstream URL. Pure (no sockets, no DNS); callable from any thread. The
// connect-time check is in src/upstream/upstream.cpp, the creation-time check in
// src/admin/model_admin.cpp; docs/operations.md "Upstream address policy" states the rules.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmgate {

// An IP address as 16 bytes in network order; IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d).
using IpBytes = std::array<std::uint8_t, 16>;

enum class AddressClass {
  global,       // everything below is not
  loopback,     // 127/8, ::1
  private_net,  // 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, fec0::/10
  link_local,   // 169.254/16, fe80::/10
  metadata,     // cloud instance metadata: 169.254.169.254, fd00:ec2::254, 100.100.100.200, ...
  unspecified,  // 0/8, ::
  reserved,     // multicast, 240/4, broadcast
};
// "loopback", "private", "link-local", "cloud metadata", "unspecified", "reserved", "public".
const char* to_string(AddressClass c);

// The class of a 4-byte (IPv4) or 16-byte (IPv6) address. IPv6 forms that carry an IPv4 address
// (mapped ::ffff:0:0/96, compatible ::/96, NAT64 64:ff9b::/96) are classified by that address.
AddressClass classify_address(const std::uint8_t* bytes, std::size_t len);
inline AddressClass classify_address(const IpBytes& a) { return classify_address(a.data(), a.size()); }

// 4 bytes as IPv4-mapped IPv6; 16 bytes as they are, except that an IPv6 form carrying an IPv4
// address (see classify_address) becomes the IPv4-mapped form of that address.
IpBytes normalize_address(const std::uint8_t* bytes, std::size_t len);

// `host` (without brackets) read as an address exactly as the system resolver reads a numeric
// host: inet_pton for IPv6, inet_aton for IPv4 (so 127.1, 0x7f000001, 2130706433 and 0177.0.0.1
// are 127.0.0.1). nullopt for a name. The result is normalized.
std::optional<IpBytes> parse_ip_literal(std::string_view host);
// "1.2.3.4", "::1" (IPv4-mapped shown as IPv4).
std::string format_address(const IpBytes& a);

// An address range; IPv4 ranges are stored over the mapped form (prefix 96 + n).
struct IpNet {
  IpBytes addr{};
  int prefix = 128;
  bool contains(const IpBytes& normalized) const;
};
// "10.0.0.0/8", "fd00::/8", or a single address. nullopt when malformed.
std::optional<IpNet> parse_ip_net(std::string_view s);

// llmgate_settings.upstream_allowlist: address ranges, and host names (as written in api_base;
// allowed whatever they resolve to).
struct UpstreamAllowlist {
  std::vector<IpNet> nets;
  std::vector<std::string> hosts;  // lower case, no trailing dot
  bool allows_host(std::string_view host) const;
  bool allows_address(const IpBytes& normalized) const;
};
// Adds one entry; false when it is neither a range/address nor a valid host name.
bool add_allowlist_entry(UpstreamAllowlist& l, std::string_view entry);

// The policy: public addresses are always allowed; loopback and private ones for deployments from
// the config file, and for those added through the API only when allowlisted; link-local, cloud
// metadata, unspecified and reserved ones only when allowlisted. `allow` may be null (empty).
// Returns the refused class, or nullopt when the address may be used.
std::optional<AddressClass> refused_upstream_address(const IpBytes& normalized, std::string_view host, bool from_api,
                                                     const UpstreamAllowlist* allow);
// The same for an api_base host before any lookup (creation time): addresses written in any
// form the resolver accepts, and the names reserved for loopback (localhost, *.localhost).
// Other names are checked when they are resolved, at connect time.
std::optional<AddressClass> refused_upstream_host(std::string_view host, bool from_api, const UpstreamAllowlist* allow);
// Why an address was refused, for the client and the log (no credentials involved):
// "upstream host h resolves to 127.0.0.1, a loopback address, which ... upstream_allowlist".
std::string address_refusal_message(std::string_view host, const IpBytes* addr, AddressClass c, bool from_api);

// A name that becomes one segment of an upstream URL (Azure deployment name, api_version):
// 1-256 of [A-Za-z0-9._-], and no "..".
bool is_url_name(std::string_view s);
// An api_base path ("" or "/v1/x"): [A-Za-z0-9._~/:+,=-] only, no "." or ".." segment.
bool is_url_path(std::string_view s);

}  // namespace llmgate
