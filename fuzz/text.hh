// What the fuzz targets check of the text forms the typecasters write
// (detail::text_of, src/types/text.cc): a binary value that decodes as
// T has a literal text, and every text written for it (literal, and
// exact where the type has one) decodes in text form as the same T.
#ifndef UVPG_FUZZ_TEXT_HH
#define UVPG_FUZZ_TEXT_HH

#include <string>

#include "../src/type_context.hh"
#include "../src/types/wire.hh"

namespace fuzz {

/// A type context as a connection to PostgreSQL 15 with hstore has.
inline const uvpg::detail::type_context *context() {
  static uvpg::detail::type_context *ctx = [] {
    auto *c = new uvpg::detail::type_context;
    c->hstore = 16385;
    c->hstore_array = 16390;
    c->server_version = 150000;
    return c;
  }();
  return ctx;
}

/// Checks the texts of `f` (binary, decoded as `value`); `same` compares
/// two T (NaN, say).  A failed check traps.
template <class T, class Same>
void check_text(const uvpg::field &f, const T &value, Same same) {
  using uvpg::detail::text_mode;
  if (!f.binary()) {
    return;
  }
  for (text_mode mode : {text_mode::exact, text_mode::literal}) {
    std::string s;
    try {
      s = uvpg::detail::text_of(f, mode);
    } catch (const uvpg::data_error &) {
      if (mode == text_mode::literal) {
        __builtin_trap(); // a value that decodes has a literal
      }
      continue;
    }
    uvpg::field g(s.data(), static_cast<int>(s.size()), false, f.type(),
                  false, "text", f.context());
    if (!same(g.as<T>(), value)) { // no try: a text that does not read
      __builtin_trap();            // back is a bug
    }
  }
}

template <class T> void check_text(const uvpg::field &f, const T &value) {
  check_text(f, value, [](const T &a, const T &b) { return a == b; });
}

} // namespace fuzz

#endif // UVPG_FUZZ_TEXT_HH
