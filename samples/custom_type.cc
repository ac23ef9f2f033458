// custom_type.cc: a typecaster for a type of your own.
//
// Shows how a program teaches uvpg a C++ type: specialise uvpg::codec
// for it with a decode() that reads a field in text and in binary form,
// and an encode() that makes a parameter.  The type here is
// `point {double x, y;}`, for PostgreSQL's built-in point type, whose
// text form is "(x,y)" and whose binary form is two big-endian float8.
// The program sends a point as a parameter, reads it back in both forms,
// reads a column of points and an array of them (uvpg/types/array.hh
// works for any element with a codec), and shows the data_error a bad
// value gives.  It exits 0 when every check passed.
// Run it as
//   samples/custom_type "host=localhost dbname=postgres"
// or with the conninfo in UVPG_DSN (empty: the PG* variables).
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <uvpg.hh>
#include <uvpg/types/array.hh>

struct point {
  double x = 0, y = 0;
  friend bool operator==(const point &, const point &) = default;
};

// The typecaster.  decode() checks the type first (PostgreSQL's point is
// OID 600, fixed for every database), then reads the form the field is
// in; anything it cannot read is a uvpg::data_error, never a crash.
template <> struct uvpg::codec<point> {
  static constexpr uvpg::oid_t oid = 600;

  static point decode(const uvpg::field &f) {
    if (f.type() != oid) {
      throw uvpg::data_error("column \"" + std::string(f.name()) +
                             "\" is not a point");
    }
    std::string_view s = f.raw();
    point p;
    if (f.binary()) {
      // point_send: x then y, each a float8 in network byte order.
      if (s.size() != 16) {
        throw uvpg::data_error("malformed binary point");
      }
      p.x = std::bit_cast<double>(load_be64(s.data()));
      p.y = std::bit_cast<double>(load_be64(s.data() + 8));
      return p;
    }
    // point_out: "(x,y)", each coordinate as float8out prints it.
    if (s.size() < 5 || s.front() != '(' || s.back() != ')') {
      throw uvpg::data_error("malformed point: " + std::string(s));
    }
    s = s.substr(1, s.size() - 2);
    size_t comma = s.find(',');
    if (comma == std::string_view::npos ||
        !read_double(s.substr(0, comma), p.x) ||
        !read_double(s.substr(comma + 1), p.y)) {
      throw uvpg::data_error("malformed point: " + std::string(f.raw()));
    }
    return p;
  }

  static void encode(const point &p, uvpg::encoded &out) {
    // Text form with the type's OID: the server needs no cast.
    out.bytes = "(" + write_double(p.x) + "," + write_double(p.y) + ")";
    out.type = oid;
    out.binary = false;
  }

private:
  static uint64_t load_be64(const char *b) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
      v = v << 8 | static_cast<unsigned char>(b[i]);
    }
    return v;
  }
  static bool read_double(std::string_view s, double &v) {
    // float8out prints NaN, Infinity and -Infinity by name.
    if (s == "NaN" || s == "Infinity" || s == "-Infinity") {
      v = std::strtod(std::string(s).c_str(), nullptr);
      return true;
    }
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size();
  }
  static std::string write_double(double v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, end); // shortest text that reads back as v
  }
};

// The codec is complete both ways, so point is a parameter and a column.
static_assert(uvpg::has_codec<point>);

namespace {

int failures = 0;

void check(bool ok, const char *what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  failures += ok ? 0 : 1;
}

uvpg::future<int> run(uv_loop_t *loop, std::string conninfo) {
  uvpg::connection conn;
  try {
    conn = co_await uvpg::connection::connect(loop, conninfo);
  } catch (const uvpg::error &e) {
    std::fprintf(stderr, "connect failed: %s\n", e.what());
    co_return 1;
  }
  try {
    point p{1.5, -2};
    // Round trip: the parameter goes out as text, comes back in text
    // form and then in binary form.
    for (bool binary : {false, true}) {
      uvpg::query_options o;
      o.binary_results = binary;
      // (A named params: GCC 12 rejects a braced-list temporary inside
      // a co_await expression.)
      uvpg::params args{p};
      uvpg::result r =
          co_await conn.query("SELECT $1::point, $1::text", args, o);
      check(r.value(0, 1) == "(1.5,-2)", "the server reads the parameter");
      check(r[0].get<point>(0) == p,
            binary ? "binary round trip" : "text round trip");
    }

    // A column of points, one per row, and NULL as std::optional.
    uvpg::result r = co_await conn.query(
        "SELECT point(i, i * 0.5) AS p FROM generate_series(1, 3) i "
        "UNION ALL SELECT NULL");
    int n = 0;
    for (const uvpg::row &row : r) {
      if (auto q = row.get<std::optional<point>>("p")) {
        ++n;
        std::printf("  point (%g, %g)\n", q->x, q->y);
        check(q->x == n && q->y == n * 0.5, "a point of the column");
      } else {
        check(n == 3, "NULL reads as std::nullopt");
      }
    }

    // An array of points: the array codec reads each element with the
    // point codec, in both forms.
    for (bool binary : {false, true}) {
      uvpg::query_options o;
      o.binary_results = binary;
      uvpg::params none;
      uvpg::result a = co_await conn.query(
          "SELECT ARRAY[point(0, 1), point(2.5, 3)]", none, o);
      auto v = a[0].get<std::vector<point>>(0);
      check(v == std::vector<point>{{0, 1}, {2.5, 3}}, "point[]");
    }

    // The codec refuses another type with a data_error.
    r = co_await conn.query("SELECT 'not a point'::text");
    try {
      (void)r[0].get<point>(0);
      check(false, "text read as point fails");
    } catch (const uvpg::data_error &e) {
      std::printf("  data_error: %s\n", e.what());
      check(true, "text read as point fails");
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    ++failures;
  }
  co_await conn.close();
  co_return failures == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  const char *conninfo = argc > 1 ? argv[1] : std::getenv("UVPG_DSN");
  uv_loop_t loop;
  int rc = uv_loop_init(&loop);
  if (rc != 0) {
    std::fprintf(stderr, "uv_loop_init: %s\n", uv_strerror(rc));
    return 1;
  }
  int exit_code = 1;
  {
    uvpg::future<int> done = run(&loop, conninfo ? conninfo : "");
    while (!done.available() && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    if (!done.available()) {
      std::fprintf(stderr, "the loop stopped before the coroutine ended\n");
    } else {
      try {
        exit_code = done.get();
      } catch (const std::exception &e) {
        std::fprintf(stderr, "coroutine failed: %s\n", e.what());
      }
    }
  }
  // Let closing handles finish, then prove none leaked.
  uv_run(&loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(&loop);
  if (rc != 0) {
    std::fprintf(stderr, "uv_loop_close: %s\n", uv_strerror(rc));
    return 1;
  }
  return exit_code;
}
