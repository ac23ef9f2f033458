/// \file uvpg/types/json.hh
/// Typecasters of json and jsonb, parsed with simdjson.
///
/// | C++             | reads                     | sends                 |
/// |-----------------|---------------------------|-----------------------|
/// | uvpg::json      | json, jsonb: parsed once  | its text, as the type |
/// |                 | into a walkable document  | it came from (jsonb   |
/// |                 |                           | for json::parse)      |
/// | uvpg::json_text | json, jsonb: the text,    | the text, as its      |
/// |                 | unparsed                  | `type` (jsonb)        |
/// | std::string     | json, jsonb: the text, in | (text, type 0)        |
/// |                 | either form               |                       |
///
/// A `uvpg::json` owns the value's text and its simdjson DOM document:
/// walk it through root() as long as the json lives, with no second
/// parse.  Copies share both (a json is immutable).
///
///     uvpg::json doc = row[0].as<uvpg::json>();
///     simdjson::dom::element name = doc.root()["user"]["name"];
///     std::string_view s = name.get_string();   // throws simdjson_error
///     conn.query("INSERT INTO t (j) VALUES ($1)", doc);
///     conn.query("SELECT $1::jsonb -> 'a'", uvpg::json_text{R"({"a":1})"});
///
/// Values are parsed by one simdjson::dom::parser per connection, made
/// on first use and kept with the connection's type information, so its
/// buffers are reused from row to row (a field without a connection, or
/// a json::parse() call, uses one parser per thread; a document over
/// 4 MiB gets a parser of its own that is freed after it, so a
/// connection does not keep its largest document's buffers).  Decode on
/// the connection's loop thread, as for any field of its results.
///
/// What simdjson refuses is a `uvpg::data_error` carrying simdjson's
/// message: malformed text (the server never sends it), but also text
/// the server sends that simdjson cannot represent:
///  - a number beyond the range of a double or an integer beyond 64 bits
///    (`123456789012345678901234567890`, which json and jsonb keep
///    exactly).  jsonb stores numbers as numeric and prints them without
///    an exponent, so it turns some doubles into such integers:
///    `'2.5E+20'::jsonb` prints 250000000000000000000 and
///    `'1.7976931348623157e308'::jsonb` a 309-digit integer, which
///    uvpg::json then refuses although the json type's text of the same
///    values parses;
///  - nesting deeper than 1024;
///  - in json (not jsonb, which refuses it on input) a `\u` escape of a
///    lone UTF-16 surrogate, such as `'"\ud800"'::json`: the json type
///    checks syntax only and keeps it, but it is no character.  The
///    data_error says so.
/// Read such values as json_text or std::string.  root() reads numbers
/// as int64, uint64 or double; text() keeps the server's digits.
///
/// In binary form jsonb is a version byte (1) and the text; json is the
/// text.  The std::string codec (uvpg/types/core.hh) and json_text read
/// both types in both forms.
///
/// The connection option `enable_json` concerns the reading of values
/// whose C++ type is not named by the caller; a json or jsonb column
/// read as uvpg::json always parses, whatever it says.
#ifndef UVPG_TYPES_JSON_HH
#define UVPG_TYPES_JSON_HH

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <simdjson.h>

#include "uvpg/error.hh"
#include "uvpg/types.hh"

namespace uvpg {

/// A parsed JSON value: its text and its simdjson document.
class UVPG_CXX_EXTERN json {
public:
  /// The JSON value `null`.
  json();
  /// Parses `text` (with the thread's parser).
  /// \param type the type the value is sent as, oids::jsonb or oids::json
  /// \throws data_error with simdjson's message when it does not parse
  static json parse(std::string_view text, oid_t type = oids::jsonb);

  /// The root of the document, valid while this json (or a copy) lives.
  simdjson::dom::element root() const noexcept;
  /// The text as the server sent it (json keeps its spacing and key
  /// order; jsonb is normalised by the server).
  std::string_view text() const noexcept;
  /// The value printed again by simdjson, without whitespace.
  std::string dump() const;
  /// oids::json or oids::jsonb: the column's type, or parse()'s `type`.
  oid_t type() const noexcept;

  /// The state a json shares with its copies (private to the library).
  struct state;

private:
  explicit json(std::shared_ptr<const state> s) noexcept : _s(std::move(s)) {}
  friend struct codec<json>;

  std::shared_ptr<const state> _s;
};

/// The text of a JSON value, unparsed: to send a JSON string you already
/// have, or to read one without parsing it.
struct json_text {
  /// The JSON text.
  std::string text;
  /// The type sent: oids::jsonb (the default) or oids::json.
  oid_t type = oids::jsonb;

  /// Equal text and type.
  friend bool operator==(const json_text &, const json_text &) = default;
};

/// Reads json or jsonb, parsing it; sends the text.
template <> struct UVPG_CXX_EXTERN codec<json> {
  /// \throws data_error for another type or text simdjson refuses
  static json decode(const field &f);
  /// Sends the text in text form as json.type().
  static void encode(const json &v, encoded &out);
};

/// Reads json or jsonb as text (jsonb's binary version byte dropped);
/// sends the text unchecked.
template <> struct UVPG_CXX_EXTERN codec<json_text> {
  /// \throws data_error for another type or an unknown jsonb version
  static json_text decode(const field &f);
  /// Sends the text in text form as v.type.
  static void encode(const json_text &v, encoded &out);
};

} // namespace uvpg

#endif // UVPG_TYPES_JSON_HH
