/// \file uvpg/types/uuid.hh
/// The typecaster of PostgreSQL's uuid type.
///
/// | C++        | reads | sends            |
/// |------------|-------|------------------|
/// | uvpg::uuid | uuid  | uuid, binary     |
///
/// A `uvpg::uuid` is the 16 bytes of the value.  It parses what the
/// server's uuid_in accepts (32 hex digits in either case, a hyphen
/// allowed after any group of four, the whole optionally in braces:
/// "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
/// "{a0eebc999c0b4ef8bb6d6bb9bd380a11}") and prints the canonical
/// lowercase 8-4-4-4-12 form, as the server does.  Values compare and
/// order by their bytes, as the server orders them.
///
///     uvpg::uuid id = row[0].as<uvpg::uuid>();
///     conn.query("SELECT * FROM t WHERE id = $1", id);
///
/// The connection option `enable_uuid` concerns the reading of values
/// whose C++ type is not named by the caller; a uuid column read as
/// uvpg::uuid always reads, whatever it says.  Read as std::string, a
/// uuid in text form is its text.
#ifndef UVPG_TYPES_UUID_HH
#define UVPG_TYPES_UUID_HH

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "uvpg/error.hh"
#include "uvpg/types.hh"

namespace uvpg {

/// A UUID: 16 bytes, the nil UUID by default.
class UVPG_CXX_EXTERN uuid {
public:
  /// The bytes, in the order the text form prints them.
  using bytes_type = std::array<std::uint8_t, 16>;

  /// The nil UUID (all zero).
  constexpr uuid() noexcept = default;
  /// A UUID of the given bytes.
  constexpr explicit uuid(const bytes_type &bytes) noexcept : _bytes(bytes) {}
  /// Parses `text` as the server's uuid_in does.
  /// \throws usage_error when it is not a UUID
  explicit uuid(std::string_view text);

  /// Parses `text` as the server's uuid_in does; nullopt when it is not
  /// a UUID.
  static std::optional<uuid> from_string(std::string_view text) noexcept;

  /// The canonical form: 36 lowercase characters, 8-4-4-4-12.
  std::string to_string() const;
  /// The 16 bytes.
  constexpr const bytes_type &bytes() const noexcept { return _bytes; }

  /// Equal bytes.
  friend constexpr bool operator==(const uuid &, const uuid &) = default;
  /// The server's order: the bytes compared as unsigned, first to last.
  friend constexpr auto operator<=>(const uuid &, const uuid &) = default;

private:
  bytes_type _bytes{};
};

/// Reads a uuid in either form; sends one in binary form.
template <> struct UVPG_CXX_EXTERN codec<uuid> {
  /// \throws data_error for another type or a malformed value
  static uuid decode(const field &f);
  /// Sends the 16 bytes, type uuid.
  static void encode(const uuid &v, encoded &out);
};

} // namespace uvpg

/// Hashes a uvpg::uuid by its bytes, for unordered containers.
template <> struct std::hash<uvpg::uuid> {
  /// FNV-1a over the 16 bytes.
  std::size_t operator()(const uvpg::uuid &u) const noexcept {
    std::uint64_t h = 14695981039346656037ULL;
    for (std::uint8_t b : u.bytes()) {
      h = (h ^ b) * 1099511628211ULL;
    }
    return static_cast<std::size_t>(h);
  }
};

#endif // UVPG_TYPES_UUID_HH
