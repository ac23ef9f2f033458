// Array typecasters (include/uvpg/types/array.hh): the parsing of array
// values into elements, and the writing of array parameters.
//
// The text form is what the server's array_out prints and array_in reads
// (src/backend/utils/adt/arrayfuncs.c): an optional dimension decoration
// "[lb:ub][lb:ub]=", nested braces, elements separated by the type's
// delimiter (',' for every built-in type but box), each either bare (NULL
// when it reads NULL in any case, surrounding whitespace dropped) or
// double-quoted, with a backslash escaping the next character in both.
// The binary form is array_send's: int32 ndim, int32 has-null flag,
// uint32 element type, ndim pairs of int32 length and lower bound, then
// per element an int32 byte count (-1 for NULL) and the bytes.
//
// Both parsers only split the value: the elements are decoded by their
// own codec (array.hh).  Every count read from the value is checked
// against the bytes left before anything is allocated for it, so a
// hostile header cannot ask for more memory than the value's own size.
#include <charconv>
#include <climits>
#include <cstring>
#include <strings.h>

#include "wire.hh"
#include "../type_context.hh"
#include "uvpg/types/array.hh"

namespace uvpg {

namespace detail {

namespace {

// The built-in array types and their element types (pg_type.dat).
struct array_pair {
  oid_t array;
  oid_t element;
};
constexpr oid_t xml_array = 143, money_array = 791, point = 600,
                point_array = 1017, box_array = 1020;
constexpr array_pair known_arrays[] = {
    {oids::boolean_array, oids::boolean},
    {oids::bytea_array, oids::bytea},
    {oids::char_array, oids::char_},
    {oids::name_array, oids::name},
    {oids::int2_array, oids::int2},
    {oids::int4_array, oids::int4},
    {oids::int8_array, oids::int8},
    {oids::text_array, oids::text},
    {oids::oid_array, oids::oid},
    {oids::json_array, oids::json},
    {xml_array, oids::xml},
    {oids::cidr_array, oids::cidr},
    {oids::float4_array, oids::float4},
    {oids::float8_array, oids::float8},
    {money_array, oids::money},
    {oids::inet_array, oids::inet},
    {oids::bpchar_array, oids::bpchar},
    {oids::varchar_array, oids::varchar},
    {oids::date_array, oids::date},
    {oids::time_array, oids::time},
    {oids::timestamp_array, oids::timestamp},
    {oids::timestamptz_array, oids::timestamptz},
    {oids::interval_array, oids::interval},
    {oids::timetz_array, oids::timetz},
    {oids::numeric_array, oids::numeric},
    {oids::uuid_array, oids::uuid},
    {oids::jsonb_array, oids::jsonb},
    {point_array, point},
};

// The element type of a text-form array of type t: a built-in array's,
// hstore[]'s on a connection that found hstore, else text.
oid_t element_type_of(oid_t t, const type_context *ctx) noexcept {
  for (const array_pair &p : known_arrays) {
    if (p.array == t) {
      return p.element;
    }
  }
  if (ctx && ctx->hstore_array != 0 && t == ctx->hstore_array) {
    return ctx->hstore;
  }
  return oids::text;
}

// True for a type known not to be an array.
bool known_scalar(oid_t t, const type_context *ctx) noexcept {
  for (const array_pair &p : known_arrays) {
    if (p.element == t) {
      return true;
    }
  }
  return ctx && ctx->hstore != 0 && t == ctx->hstore;
}

// The text form, parsed as array_in does.  Invariants: `pos` <= size;
// `out.unquoted` never grows past the value's size (an element's
// unquoted bytes are a subset of its quoted ones), so it is reserved
// once.
class text_parser {
public:
  text_parser(const field &f, parsed_array &out)
      : _f(f), _s(f.raw()), _out(out) {}

  void parse() {
    int explicit_dims = 0;
    int dims[array_max_dims] = {}, lower[array_max_dims] = {};
    skip_space();
    if (peek() == '[') {
      explicit_dims = decoration(dims, lower);
    }
    if (peek() != '{') {
      fail("no '{'");
    }
    _out.unquoted.reserve(_s.size());
    level(0);
    skip_space();
    if (_pos != _s.size()) {
      fail("junk after the closing '}'");
    }
    int ndim = _ndim < 0 ? 0 : _ndim;
    if (explicit_dims != 0 && explicit_dims != ndim) {
      fail("the dimension decoration does not match the braces");
    }
    _out.ndim = ndim;
    for (int d = 0; d < ndim; ++d) {
      if (explicit_dims != 0 && dims[d] != _dims[d]) {
        fail("the dimension decoration does not match the elements");
      }
      _out.dims[d] = _dims[d];
      _out.lower[d] = explicit_dims != 0 ? lower[d] : 1;
    }
  }

private:
  char peek() const noexcept { return _pos < _s.size() ? _s[_pos] : '\0'; }
  bool at_end() const noexcept { return _pos >= _s.size(); }
  void skip_space() noexcept {
    while (!at_end() && pg_isspace(_s[_pos])) {
      ++_pos;
    }
  }
  [[noreturn]] void fail(const char *why) const { detail::malformed(_f, "array", why); }

  int integer() {
    const char *b = _s.data() + _pos, *e = _s.data() + _s.size();
    if (b != e && *b == '+') {
      ++b; // array_in takes strtol's optional sign
    }
    int v = 0;
    auto [end, ec] = std::from_chars(b, e, v);
    if (ec != std::errc()) {
      fail("bad dimension bound");
    }
    _pos = static_cast<size_t>(end - _s.data());
    return v;
  }

  // "[lb:ub]...=" or "[ub]...=" (lower bound 1); returns the count.
  int decoration(int *dims, int *lower) {
    int n = 0;
    while (peek() == '[') {
      if (n == array_max_dims) {
        fail("more than 6 dimensions");
      }
      ++_pos;
      skip_space();
      int lb = 1, ub = integer();
      skip_space();
      if (peek() == ':') {
        ++_pos;
        skip_space();
        lb = ub;
        ub = integer();
        skip_space();
      }
      if (peek() != ']') {
        fail("no ']' in the dimension decoration");
      }
      ++_pos;
      if (ub < lb) {
        fail("an upper bound below its lower bound");
      }
      long long len = static_cast<long long>(ub) - lb + 1;
      if (len > INT_MAX) {
        fail("a dimension too long");
      }
      dims[n] = static_cast<int>(len);
      lower[n] = lb;
      ++n;
    }
    skip_space();
    if (peek() != '=') {
      fail("no '=' after the dimension decoration");
    }
    ++_pos;
    skip_space();
    return n;
  }

  // A brace-enclosed list at `depth` (0 for the outermost), at its '{'.
  void level(int depth) {
    if (depth >= array_max_dims) {
      fail("more than 6 dimensions");
    }
    ++_pos; // '{'
    skip_space();
    if (peek() == '}') {
      if (depth != 0) {
        fail("an empty sub-array");
      }
      ++_pos;
      return;
    }
    int count = 0;
    for (;;) {
      skip_space();
      if (peek() == '{') {
        // Elements of this array are at a deeper level than this one.
        if (_ndim >= 0 && _ndim <= depth + 1) {
          fail("a sub-array where an element was expected");
        }
        level(depth + 1);
      } else {
        if (_ndim < 0) {
          _ndim = depth + 1;
        } else if (_ndim != depth + 1) {
          fail("an element where a sub-array was expected");
        }
        element();
      }
      ++count;
      skip_space();
      if (peek() == ',') {
        ++_pos;
      } else if (peek() == '}') {
        ++_pos;
        break;
      } else if (at_end()) {
        fail("no closing '}'");
      } else {
        fail("no ',' or '}' after an element");
      }
    }
    if (_dims[depth] == 0) {
      _dims[depth] = count;
    } else if (_dims[depth] != count) {
      fail("sub-arrays of different lengths");
    }
  }

  void element() {
    std::string &u = _out.unquoted;
    size_t start = u.size();
    if (peek() == '"') {
      ++_pos;
      for (;;) {
        if (at_end()) {
          fail("no closing '\"'");
        }
        char c = _s[_pos++];
        if (c == '"') {
          break;
        }
        if (c == '\\') {
          if (at_end()) {
            fail("a '\\' at the end");
          }
          c = _s[_pos++];
        }
        u.push_back(c);
      }
      _out.items.push_back({start, static_cast<int>(u.size() - start), false});
      return;
    }
    // Bare: up to the delimiter or '}', without trailing whitespace
    // (escaped whitespace stays).
    size_t keep = 0;
    bool escaped = false;
    while (!at_end()) {
      char c = _s[_pos];
      if (c == ',' || c == '}') {
        break;
      }
      if (c == '{' || c == '"') {
        fail("a '{' or '\"' inside a bare element");
      }
      ++_pos;
      if (c == '\\') {
        if (at_end()) {
          fail("a '\\' at the end");
        }
        u.push_back(_s[_pos++]);
        escaped = true;
        keep = u.size() - start;
      } else {
        u.push_back(c);
        if (!pg_isspace(c)) {
          keep = u.size() - start;
        }
      }
    }
    u.resize(start + keep);
    if (keep == 0) {
      fail("an empty element");
    }
    if (!escaped && keep == 4 &&
        strncasecmp(u.data() + start, "NULL", 4) == 0) {
      u.resize(start);
      _out.items.push_back({start, 0, true});
      return;
    }
    _out.items.push_back({start, static_cast<int>(keep), false});
  }

  const field &_f;
  std::string_view _s;
  parsed_array &_out;
  size_t _pos = 0;
  int _ndim = -1; // the depth of the elements plus one, once seen
  int _dims[array_max_dims] = {};
};

void parse_binary(const field &f, parsed_array &out) {
  std::string_view s = f.raw();
  if (s.size() < 12) {
    detail::malformed(f, "array", "shorter than its header");
  }
  int32_t ndim = load_be<int32_t>(s.data());
  int32_t flags = load_be<int32_t>(s.data() + 4);
  out.element_type = static_cast<oid_t>(load_be<int32_t>(s.data() + 8));
  size_t pos = 12;
  if (ndim < 0 || ndim > array_max_dims) {
    detail::malformed(f, "array", "a bad number of dimensions");
  }
  if (flags != 0 && flags != 1) {
    detail::malformed(f, "array", "bad flags");
  }
  if (s.size() - pos < 8 * static_cast<size_t>(ndim)) {
    detail::malformed(f, "array", "truncated dimensions");
  }
  bool zero = false;
  for (int d = 0; d < ndim; ++d) {
    out.dims[d] = load_be<int32_t>(s.data() + pos);
    out.lower[d] = load_be<int32_t>(s.data() + pos + 4);
    pos += 8;
    if (out.dims[d] < 0 ||
        static_cast<long long>(out.lower[d]) + out.dims[d] - 1 > INT_MAX) {
      detail::malformed(f, "array", "a bad dimension");
    }
    zero = zero || out.dims[d] == 0;
  }
  // Each element takes at least its 4-byte length: a count above that
  // is a lie, refused before reserving anything for it.
  size_t count = 0;
  if (ndim > 0 && !zero) {
    size_t cap = (s.size() - pos) / 4;
    count = 1;
    for (int d = 0; d < ndim; ++d) {
      if (static_cast<size_t>(out.dims[d]) > cap / count) {
        detail::malformed(f, "array", "more elements than bytes");
      }
      count *= static_cast<size_t>(out.dims[d]);
    }
  }
  // As array_recv does, an array with a zero-length dimension is the
  // empty array.
  out.ndim = count == 0 ? 0 : ndim;
  out.items.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (s.size() - pos < 4) {
      detail::malformed(f, "array", "truncated");
    }
    int32_t len = load_be<int32_t>(s.data() + pos);
    pos += 4;
    if (len == -1) {
      out.items.push_back({pos, 0, true});
      continue;
    }
    if (len < 0 || static_cast<size_t>(len) > s.size() - pos) {
      detail::malformed(f, "array", "a bad element length");
    }
    out.items.push_back({pos, len, false});
    pos += static_cast<size_t>(len);
  }
  if (pos != s.size()) {
    detail::malformed(f, "array", "bytes after the last element");
  }
}

void quote_element(std::string &out, std::string_view v) {
  // Always quoted: then nothing in v (a delimiter, a brace, whitespace,
  // "NULL", the empty string) can change how array_in reads it.
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
}

void write_text(const std::vector<encoded> &items, const int *dims, int ndim,
                int depth, size_t &k, std::string &out) {
  out.push_back('{');
  for (int i = 0; i < dims[depth]; ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    if (depth + 1 < ndim) {
      write_text(items, dims, ndim, depth + 1, k, out);
    } else if (items[k].null) {
      out += "NULL";
      ++k;
    } else {
      quote_element(out, items[k++].bytes);
    }
  }
  out.push_back('}');
}

} // namespace

void parse_array(const field &f, parsed_array &out, const char *wants) {
  const type_context *ctx = f.context();
  if (known_scalar(f.type(), ctx)) {
    wrong_type(f, wants);
  }
  out.binary = f.binary();
  if (f.binary()) {
    parse_binary(f, out);
    return;
  }
  if (f.type() == box_array) {
    throw data_error("column \"" + std::string(f.name()) +
                     "\" is a box[], whose elements are separated by ';': "
                     "not supported (read it as text)");
  }
  out.element_type = element_type_of(f.type(), ctx);
  text_parser(f, out).parse();
}

oid_t array_type_of(oid_t element) noexcept {
  if (element == 0) {
    return 0;
  }
  for (const array_pair &p : known_arrays) {
    if (p.element == element) {
      return p.array;
    }
  }
  return 0;
}

void array_writer::finish(const std::vector<int> &dims,
                          const std::vector<int> &lower, encoded &out) const {
  if (dims.size() > static_cast<size_t>(array_max_dims) ||
      lower.size() != dims.size()) {
    throw data_error("array parameter: more than 6 dimensions");
  }
  size_t count = dims.empty() ? 0 : 1;
  for (int d : dims) {
    count *= static_cast<size_t>(d < 0 ? 0 : d);
  }
  if (count != _items.size()) {
    throw data_error("array parameter: the dimensions do not match the "
                     "elements");
  }
  // The form and type come from the first non-NULL element; the others
  // must agree (a binary array names one element type).
  const encoded *ref = nullptr;
  for (const encoded &e : _items) {
    if (!e.null) {
      ref = &e;
      break;
    }
  }
  if (!ref && _probe) {
    ref = &*_probe;
  }
  bool binary = ref && ref->binary;
  oid_t type = ref ? ref->type : 0;
  for (const encoded &e : _items) {
    if (e.null) {
      continue;
    }
    if (e.binary != binary) {
      throw data_error("array parameter: elements encode in both text and "
                       "binary form");
    }
    if (e.type != type) {
      if (binary) {
        throw data_error("array parameter: binary elements of different "
                         "types");
      }
      type = 0; // mixed text types: let the server infer the array's
    }
  }
  if (binary && type == 0) {
    throw data_error("array parameter: binary elements of type 0");
  }
  out.type = array_type_of(type);
  out.binary = binary;
  out.null = false;
  out.bytes.clear();
  int ndim = count == 0 ? 0 : static_cast<int>(dims.size());
  if (binary) {
    bool has_null = false;
    for (const encoded &e : _items) {
      has_null = has_null || e.null;
    }
    store_be<int32_t>(out.bytes, ndim);
    store_be<int32_t>(out.bytes, has_null ? 1 : 0);
    store_be<int32_t>(out.bytes, static_cast<int32_t>(type));
    for (int d = 0; d < ndim; ++d) {
      store_be<int32_t>(out.bytes, dims[d]);
      store_be<int32_t>(out.bytes, lower[d]);
    }
    for (const encoded &e : _items) {
      if (e.null) {
        store_be<int32_t>(out.bytes, -1);
        continue;
      }
      if (e.bytes.size() > static_cast<size_t>(INT32_MAX)) {
        throw data_error("array parameter: an element over 2 GB");
      }
      store_be<int32_t>(out.bytes, static_cast<int32_t>(e.bytes.size()));
      out.bytes += e.bytes;
    }
    return;
  }
  if (ndim == 0) {
    out.bytes = "{}";
    return;
  }
  bool decorate = false;
  for (int d = 0; d < ndim; ++d) {
    decorate = decorate || lower[d] != 1;
  }
  if (decorate) {
    for (int d = 0; d < ndim; ++d) {
      out.bytes +=
          "[" + std::to_string(lower[d]) + ":" +
          std::to_string(static_cast<long long>(lower[d]) + dims[d] - 1) + "]";
    }
    out.bytes.push_back('=');
  }
  size_t k = 0;
  write_text(_items, dims.data(), ndim, 0, k, out.bytes);
}

} // namespace detail

} // namespace uvpg
