/// \file uvpg/types/hstore.hh
/// The typecaster of the hstore extension's type.
///
/// | C++          | reads                        | sends              |
/// |--------------|------------------------------|--------------------|
/// | uvpg::hstore | hstore, when the connection  | text, type 0 (the  |
/// |              | found the extension          | statement's type)  |
///
/// A `uvpg::hstore` is a std::map from key to value, a NULL value as
/// std::nullopt.  hstore is an extension type: its OID differs from
/// database to database, so each connection looks it up once, right
/// after connecting (connect_options::enable_hstore, on by default).
/// Create the extension before connecting, or reconnect after creating
/// it.  A connection that did not find it (the extension is absent, not
/// on the search_path, or enable_hstore is off) sees hstore values as a
/// type it does not know: they read as std::string in text form (in
/// binary form that is a data_error: their bytes are not their text),
/// and reading one as uvpg::hstore is a `uvpg::data_error` saying so.
/// A connection that found it reads hstore and hstore[] as std::string
/// in both forms, as the server prints them.
///
///     auto attrs = row[0].as<uvpg::hstore>();
///     if (auto it = attrs.find("color"); it != attrs.end() && it->second)
///       use(*it->second);
///     conn.query("SELECT $1::hstore -> 'a'", uvpg::hstore{{"a", "1"}});
///
/// A parameter is sent in text form with type 0, so the statement must
/// give the type (`$1::hstore`, or a hstore column).  Keys and values
/// may hold any text: quotes, backslashes, commas, "=>", whitespace, the
/// empty string; they are quoted and escaped on the way out.
///
/// The text parser reads what the extension's hstore_in accepts (quoted
/// or bare keys and values, NULL in any case for a NULL value); with a
/// duplicate key the first value is kept.
#ifndef UVPG_TYPES_HSTORE_HH
#define UVPG_TYPES_HSTORE_HH

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "uvpg/error.hh"
#include "uvpg/types.hh"

namespace uvpg {

/// The pairs of a hstore value, ordered by key; a NULL value is
/// std::nullopt.  It is a std::map with every constructor of one.
class hstore : public std::map<std::string, std::optional<std::string>> {
public:
  /// The std::map it is.
  using map_type = std::map<std::string, std::optional<std::string>>;
  /// Every constructor of std::map: `uvpg::hstore h{{"k", "v"}};`.
  using map_type::map_type;
  /// An empty hstore.
  hstore() = default;
  /// A copy of a std::map of the same pairs.
  hstore(map_type m) : map_type(std::move(m)) {}
};

/// Reads a hstore in either form; sends its text form.
template <> struct UVPG_CXX_EXTERN codec<hstore> {
  /// \throws data_error when the connection did not find the extension,
  ///         for another type, or for a malformed value
  static hstore decode(const field &f);
  /// Sends `"key"=>"value", "key"=>NULL`, type 0.
  static void encode(const hstore &v, encoded &out);
};

} // namespace uvpg

#endif // UVPG_TYPES_HSTORE_HH
