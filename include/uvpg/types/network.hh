/// \file uvpg/types/network.hh
/// Typecaster of the server's network address types, inet and cidr.
///
/// | C++          | reads        | sends                        |
/// |--------------|--------------|------------------------------|
/// | uvpg::inet   | inet, cidr   | inet, or cidr when `cidr` is |
///
/// One struct holds both: an IPv4 or IPv6 address with a prefix length,
/// and whether it is a network (`cidr`, no bits set right of the prefix)
/// or a host address with an optional netmask (`inet`).  to_string()
/// prints what the server prints: "192.168.0.1/24", "::1" (an inet with
/// a full-length prefix omits it), "10.0.0.0/8" (a cidr always shows
/// it), "::ffff:1.2.3.4".
///
///     auto a = row["addr"].as<uvpg::inet>();
///     if (a.family == 6) { ... a.bytes ... }
///     conn.query("INSERT INTO hosts VALUES ($1)",
///                uvpg::inet::parse("2001:db8::1/64"));
#ifndef UVPG_TYPES_NETWORK_HH
#define UVPG_TYPES_NETWORK_HH

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "uvpg/error.hh"
#include "uvpg/types.hh"

namespace uvpg {

/// An inet or cidr value.
struct UVPG_CXX_EXTERN inet {
  /// 4 or 6.
  int family = 4;
  /// The address in network byte order: the first 4 bytes for IPv4 (the
  /// rest zero), all 16 for IPv6.
  std::array<std::uint8_t, 16> bytes{};
  /// The prefix (netmask) length in bits: 0-32 for IPv4, 0-128 for IPv6.
  int prefix = 32;
  /// True for a cidr (a network), false for an inet.
  bool cidr = false;

  /// Reads an address as the server prints it, or as a person writes
  /// one: "192.168.0.1", "10.0.0.0/8", "::1", "2001:db8::/32",
  /// "::ffff:1.2.3.4".  Without "/n" the prefix is the full length.
  /// \param cidr make a cidr, whose bits right of the prefix must be 0
  ///             (the server's abbreviated cidr forms such as "10/8"
  ///             are not read)
  /// \throws usage_error for anything else.
  static inet parse(std::string_view text, bool cidr = false);
  /// The value as the server prints it.
  /// \throws usage_error when family or prefix is out of range.
  std::string to_string() const;
  /// All four members equal (bytes beyond an IPv4 address included).
  bool operator==(const inet &) const noexcept = default;
};

/// Reads inet and cidr in text or binary form (`cidr` tells which it
/// was); sends the type `cidr` names, in binary form.
template <> struct UVPG_CXX_EXTERN codec<inet> {
  static inet decode(const field &f);
  static void encode(const inet &v, encoded &out);
};

} // namespace uvpg

#endif // UVPG_TYPES_NETWORK_HH
