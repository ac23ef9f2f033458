/// \file uvpg/types/array.hh
/// Typecasters of PostgreSQL arrays, for any element type with a codec.
///
/// | C++                          | reads                  | sends          |
/// |------------------------------|------------------------|----------------|
/// | std::vector<E>               | a one-dimensional or   | E's array type |
/// |                              | empty array of E       | (see below)    |
/// | std::vector<std::optional<E>>| the same, NULL         | NULL elements  |
/// |                              | elements as nullopt    | from nullopt   |
/// | uvpg::array<E>               | any array of E: 0 to 6 | the same       |
/// |                              | dimensions, any lower  |                |
/// |                              | bounds                 |                |
///
/// Elements are read by E's own codec, from a field built for each one:
/// in text form with the element type of the array's type (the built-in
/// arrays, hstore[] on a connection that found hstore, and arrays of the
/// domains, enums and citext-like types the connection found at connect;
/// elements of an unknown array type are read as text), in binary form
/// with the element type the server names in the value.  A domain's
/// elements read as its base type, in both forms: `'{1,2,NULL}'::posint[]`
/// (posint a domain over int4) reads as std::vector<std::optional<
/// int32_t>>.  So `std::vector<std::string>` reads a text[] and
/// `std::vector<uvpg::uuid>` a uuid[].
///
///     auto ids = row[0].as<std::vector<int64_t>>();          // int8[]
///     auto tags = row[1].as<std::vector<std::optional<std::string>>>();
///     uvpg::array<int> grid = row[2].as<uvpg::array<int>>(); // int4[][]
///     conn.query("SELECT $1::int8[]", std::vector<int64_t>{1, 2, 3});
///
/// A std::vector keeps the elements of a one-dimensional array and drops
/// its lower bound (read '[0:2]={1,2,3}' as uvpg::array to keep it).
/// A NULL element read into a vector of a non-optional E, an array of
/// two or more dimensions read as a std::vector, and any malformed value
/// (bad syntax, ragged sub-arrays, more than 6 dimensions, a truncated
/// binary value) are a `uvpg::data_error`.
///
/// An array parameter goes in text form, each element quoted as the
/// server's array_in reads it, with the array type of the type E's codec
/// names (int4[] for int32_t) or type 0 (the server infers it from the
/// statement, e.g. `$1::text[]`) when that type is unknown or 0, as for
/// strings.  When E's codec sends binary values (uvpg::bytea,
/// uvpg::uuid) the array goes in binary form.  The array type of an
/// empty or all-NULL vector comes from encoding a default-constructed E,
/// when E has a default constructor.
///
/// Arrays of arrays do not exist in PostgreSQL: `std::vector<std::vector<
/// E>>` does not compile (read a two-dimensional array as uvpg::array<E>),
/// and neither does `std::vector<std::string_view>` (an element that
/// needed unquoting has no bytes of its own in the result to point to).
/// Only the comma delimiter is read: box[] (whose delimiter is ';') is a
/// data_error.
///
/// Thread rules: as for any field, decode on one thread at a time.
#ifndef UVPG_TYPES_ARRAY_HH
#define UVPG_TYPES_ARRAY_HH

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "uvpg/error.hh"
#include "uvpg/types.hh"
#include "uvpg/types/core.hh"

namespace uvpg {

/// The most dimensions an array may have (PostgreSQL's MAXDIM).
inline constexpr int array_max_dims = 6;

/// An N-dimensional PostgreSQL array: its dimensions, the lower bound of
/// each, and its elements in row-major order (the last subscript varies
/// fastest, as the server prints them), NULL elements as std::nullopt.
///
/// The empty array has no dimensions.  A value of type E is held as
/// `std::optional<E>`, so E itself is not an optional.
///
///     uvpg::array<int> a({2, 3}, {1, 2, 3, 4, 5, std::nullopt});
///     a.at({2, 1});     // 4: SQL subscripts a[2][1], lower bounds 1
///     a[3];             // 4 too: the flat, row-major index
template <class E> class array {
  static_assert(!is_optional<E>::value,
                "uvpg::array<E> already holds std::optional<E>: use E");

public:
  /// An element: std::nullopt is SQL NULL.
  using value_type = std::optional<E>;
  /// Iterates over the elements, row-major.
  using iterator = typename std::vector<value_type>::iterator;
  /// Iterates over the elements, row-major, read-only.
  using const_iterator = typename std::vector<value_type>::const_iterator;

  /// The empty array ('{}').
  array() = default;

  /// A one-dimensional array with lower bound 1 (empty: no dimension).
  array(std::initializer_list<value_type> elements)
      : array(std::vector<value_type>(elements)) {}

  /// A one-dimensional array with lower bound 1 (empty: no dimension).
  explicit array(std::vector<value_type> elements)
      : _elems(std::move(elements)) {
    if (!_elems.empty()) {
      _dims.push_back(checked_size(_elems.size()));
      _lower.push_back(1);
    }
  }

  /// An array of the given shape.
  /// \param dims         the length of each dimension, at most 6
  /// \param elements     their product of elements, row-major
  /// \param lower_bounds the first subscript of each dimension; empty
  ///                     means 1 for each
  /// \throws usage_error for a shape that does not match the elements,
  ///         a negative length, too many dimensions, or a lower bound
  ///         whose last subscript would overflow an int.  A shape with a
  ///         zero length is the empty array.
  array(std::vector<int> dims, std::vector<value_type> elements,
        std::vector<int> lower_bounds = {})
      : _dims(std::move(dims)), _lower(std::move(lower_bounds)),
        _elems(std::move(elements)) {
    if (_lower.empty()) {
      _lower.assign(_dims.size(), 1);
    }
    if (_dims.size() > static_cast<std::size_t>(array_max_dims) ||
        _lower.size() != _dims.size()) {
      throw usage_error("uvpg::array: dimensions and lower bounds must "
                        "number the same, at most 6");
    }
    long long product = _dims.empty() ? 0 : 1;
    for (std::size_t i = 0; i < _dims.size(); ++i) {
      if (_dims[i] < 0 ||
          static_cast<long long>(_lower[i]) + _dims[i] - 1 > 0x7fffffffLL) {
        throw usage_error("uvpg::array: bad dimension or lower bound");
      }
      product *= _dims[i];
      if (product > static_cast<long long>(_elems.size())) {
        break; // already a mismatch; do not let the product overflow
      }
    }
    if (product != static_cast<long long>(_elems.size())) {
      throw usage_error("uvpg::array: the dimensions make " +
                        std::to_string(product) + " elements, not " +
                        std::to_string(_elems.size()));
    }
    if (_elems.empty()) {
      _dims.clear();
      _lower.clear();
    }
  }

  /// The number of dimensions (0 for the empty array).
  int ndim() const noexcept { return static_cast<int>(_dims.size()); }
  /// The length of each dimension.
  const std::vector<int> &dims() const noexcept { return _dims; }
  /// The first subscript of each dimension (1 unless the value said
  /// otherwise, as in '[0:2]={1,2,3}').
  const std::vector<int> &lower_bounds() const noexcept { return _lower; }
  /// The number of elements (the product of the dimensions).
  std::size_t size() const noexcept { return _elems.size(); }
  /// True for the empty array.
  bool empty() const noexcept { return _elems.empty(); }
  /// The elements, row-major.
  const std::vector<value_type> &elements() const noexcept { return _elems; }

  /// The element at a flat row-major index (unchecked).
  const value_type &operator[](std::size_t i) const { return _elems[i]; }
  /// The element at a flat row-major index (unchecked).
  value_type &operator[](std::size_t i) { return _elems[i]; }

  /// The element at SQL subscripts, one per dimension, honouring the
  /// lower bounds: `a.at({1, 2})` is the server's a[1][2].
  /// \throws std::out_of_range for a wrong count or a subscript outside
  ///         its dimension
  const value_type &at(std::initializer_list<int> subscripts) const {
    return _elems[offset(subscripts)];
  }
  /// The element at SQL subscripts (see the const overload).
  value_type &at(std::initializer_list<int> subscripts) {
    return _elems[offset(subscripts)];
  }

  /// The flat row-major index of SQL subscripts.
  /// \throws std::out_of_range as at()
  std::size_t offset(std::initializer_list<int> subscripts) const {
    if (subscripts.size() != _dims.size()) {
      throw std::out_of_range(
          "uvpg::array: " + std::to_string(subscripts.size()) +
          " subscripts for " + std::to_string(_dims.size()) + " dimensions");
    }
    std::size_t off = 0, d = 0;
    for (int s : subscripts) {
      long long i = static_cast<long long>(s) - _lower[d];
      if (i < 0 || i >= _dims[d]) {
        throw std::out_of_range("uvpg::array: subscript " + std::to_string(s) +
                                " out of range");
      }
      off = off * static_cast<std::size_t>(_dims[d]) +
            static_cast<std::size_t>(i);
      ++d;
    }
    return off;
  }

  /// Iterates over the elements, row-major.
  iterator begin() noexcept { return _elems.begin(); }
  /// The end of begin().
  iterator end() noexcept { return _elems.end(); }
  /// Iterates over the elements, row-major.
  const_iterator begin() const noexcept { return _elems.begin(); }
  /// The end of begin().
  const_iterator end() const noexcept { return _elems.end(); }

  /// Equal shape, bounds and elements.
  friend bool operator==(const array &, const array &) = default;

private:
  static int checked_size(std::size_t n) {
    if (n > 0x7fffffffU) {
      throw usage_error("uvpg::array: too many elements");
    }
    return static_cast<int>(n);
  }

  std::vector<int> _dims;
  std::vector<int> _lower;
  std::vector<value_type> _elems;
};

namespace detail {

// What the array codecs share; the parsing and writing are in
// src/types/array.cc, the element decoding is per type here.

/// One element of a parsed array: `len` bytes at `offset` into the
/// value (binary) or into the unquoted copy (text), or NULL.
struct array_item {
  std::size_t offset;
  int len;
  bool null;
};

/// An array value split into its elements, not yet decoded.
struct parsed_array {
  int ndim = 0;
  int dims[array_max_dims] = {};
  int lower[array_max_dims] = {};
  oid_t element_type = 0;
  bool binary = false;
  std::vector<array_item> items;
  std::string unquoted; // text form: the elements, unquoted, back to back

  /// The bytes of item i (valid while `f` and this live).
  const char *data(const field &f, std::size_t i) const noexcept {
    return (binary ? f.raw().data() : unquoted.data()) + items[i].offset;
  }
};

/// Splits an array field (either form) into its elements.
/// \throws data_error for a malformed value or a type that is not an
///         array
UVPG_CXX_EXTERN void parse_array(const field &f, parsed_array &out,
                                 const char *wants);

/// The array type of an element type; 0 when unknown.
UVPG_CXX_EXTERN oid_t array_type_of(oid_t element) noexcept;

/// Builds an array parameter from its encoded elements.
class UVPG_CXX_EXTERN array_writer {
public:
  /// Adds the next element, row-major.
  void add(encoded &&element) { _items.push_back(std::move(element)); }
  /// What a default E encodes to, for the type of an array without a
  /// non-NULL element.
  void set_probe(encoded &&probe) { _probe = std::move(probe); }
  /// Writes the array (dims empty: the empty array).
  /// \throws data_error when the elements encode to different binary
  ///         types, or binary values of type 0
  void finish(const std::vector<int> &dims, const std::vector<int> &lower,
              encoded &out) const;

private:
  std::vector<encoded> _items;
  std::optional<encoded> _probe;
};

/// True for the C++ types that read as an array.
template <class T> struct is_array_type : std::false_type {};
template <class T>
struct is_array_type<std::vector<T>>
    : std::bool_constant<!std::is_same_v<T, std::byte>> {};
template <class T> struct is_array_type<array<T>> : std::true_type {};
template <class T> struct is_array_type<std::optional<T>> : is_array_type<T> {};

template <class E> struct element_traits {
  using value = E;
  static constexpr bool nullable = false;
};
template <class U> struct element_traits<std::optional<U>> {
  using value = U;
  static constexpr bool nullable = true;
};

/// True when E (or U of std::optional<U>) can be an array element.
template <class E>
concept array_element =
    !is_array_type<E>::value &&
    !std::is_same_v<typename element_traits<E>::value, std::string_view>;

template <class E>
concept decodable_element =
    array_element<E> && can_decode<typename element_traits<E>::value>;

template <class E>
concept encodable_element =
    array_element<E> && can_encode<typename element_traits<E>::value>;

/// Decodes item i of `p` as E; NULL only for a std::optional E.
template <class E>
E decode_element(const field &f, const parsed_array &p, std::size_t i) {
  using U = typename element_traits<E>::value;
  const array_item &it = p.items[i];
  if (it.null) {
    if constexpr (element_traits<E>::nullable) {
      return std::nullopt;
    } else {
      throw data_error("array column \"" + std::string(f.name()) +
                       "\" has a NULL element: read it with std::optional "
                       "elements");
    }
  } else {
    field ef(p.data(f, i), it.len, false, p.element_type, p.binary, f.name(),
             f.context());
    try {
      return E(codec<U>::decode(ef));
    } catch (const data_error &e) {
      throw data_error("element " + std::to_string(i + 1) +
                       " of array: " + e.what());
    }
  }
}

/// Encodes each element of [first, last) into `w`, and a probe when
/// none is non-NULL.
template <class E, class It>
void encode_elements(It first, It last, array_writer &w) {
  using U = typename element_traits<E>::value;
  bool any = false;
  for (; first != last; ++first) {
    const E &v = *first;
    encoded e;
    if constexpr (element_traits<E>::nullable) {
      if (!v) {
        e.null = true;
      } else {
        codec<U>::encode(*v, e);
        any = true;
      }
    } else {
      codec<U>::encode(v, e);
      any = true;
    }
    w.add(std::move(e));
  }
  if constexpr (std::is_default_constructible_v<U>) {
    if (!any) {
      encoded probe;
      codec<U>::encode(U{}, probe);
      w.set_probe(std::move(probe));
    }
  }
}

} // namespace detail

/// A one-dimensional array as a std::vector (see the table above).
template <class E> struct codec<std::vector<E>> {
  static_assert(!detail::is_array_type<E>::value,
                "PostgreSQL has no arrays of arrays: read a "
                "multi-dimensional array as uvpg::array<E>");

  /// Reads an empty or one-dimensional array.
  /// \throws data_error for more dimensions, a NULL element when E is
  ///         not an optional, or a malformed value
  static std::vector<E> decode(const field &f)
    requires detail::decodable_element<E>
  {
    detail::parsed_array p;
    detail::parse_array(f, p, "std::vector wants an array");
    if (p.ndim > 1) {
      throw data_error("column \"" + std::string(f.name()) + "\" has a " +
                       std::to_string(p.ndim) +
                       "-dimensional array: read it as uvpg::array");
    }
    std::vector<E> out;
    out.reserve(p.items.size());
    for (std::size_t i = 0; i < p.items.size(); ++i) {
      out.push_back(detail::decode_element<E>(f, p, i));
    }
    return out;
  }

  /// Writes a one-dimensional array, lower bound 1.
  static void encode(const std::vector<E> &v, encoded &out)
    requires detail::encodable_element<E>
  {
    detail::array_writer w;
    detail::encode_elements<E>(v.begin(), v.end(), w);
    std::vector<int> dims, lower;
    if (!v.empty()) {
      if (v.size() > 0x7fffffffU) {
        throw data_error("array parameter: too many elements");
      }
      dims.push_back(static_cast<int>(v.size()));
      lower.push_back(1);
    }
    w.finish(dims, lower, out);
  }
};

/// Any array as uvpg::array (see the table above).
template <class E> struct codec<array<E>> {
  /// Reads an array of any shape.
  /// \throws data_error for a malformed value
  static array<E> decode(const field &f)
    requires detail::decodable_element<std::optional<E>>
  {
    detail::parsed_array p;
    detail::parse_array(f, p, "uvpg::array wants an array");
    std::vector<std::optional<E>> elems;
    elems.reserve(p.items.size());
    for (std::size_t i = 0; i < p.items.size(); ++i) {
      elems.push_back(detail::decode_element<std::optional<E>>(f, p, i));
    }
    return array<E>(std::vector<int>(p.dims, p.dims + p.ndim), std::move(elems),
                    std::vector<int>(p.lower, p.lower + p.ndim));
  }

  /// Writes the array with its shape and lower bounds.
  static void encode(const array<E> &v, encoded &out)
    requires detail::encodable_element<std::optional<E>>
  {
    detail::array_writer w;
    detail::encode_elements<std::optional<E>>(v.begin(), v.end(), w);
    w.finish(v.dims(), v.lower_bounds(), out);
  }
};

} // namespace uvpg

#endif // UVPG_TYPES_ARRAY_HH
