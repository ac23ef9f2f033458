// coroutine.cc: the C++ layer driven by co_await.
//
// Shows uvpg::connection used from a C++20 coroutine on the program's own
// uv_loop_t: connect, queries with $n, %s and %(name)s placeholders, a
// statement that fails on purpose and the uvpg::server_error it throws,
// then an orderly close.  The coroutine returns uvpg::future<int>, the
// exit code; main() runs the loop until that future is available.
// Run it as
//   samples/coroutine "host=localhost dbname=postgres"
// or with the conninfo in UVPG_DSN (empty: the PG* variables).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>

#include <uvpg.hh>

namespace {

void print_rows(const uvpg::result &res) {
  for (int col = 0; col < res.columns(); col++) {
    std::printf("%s%.*s", col ? " | " : "",
                static_cast<int>(res.column_name(col).size()),
                res.column_name(col).data());
  }
  std::printf("\n");
  for (int row = 0; row < res.rows(); row++) {
    for (int col = 0; col < res.columns(); col++) {
      std::string_view v = res.is_null(row, col) ? "NULL" : res.value(row, col);
      std::printf("%s%.*s", col ? " | " : "", static_cast<int>(v.size()),
                  v.data());
    }
    std::printf("\n");
  }
  std::printf("(%.*s)\n", static_cast<int>(res.command_status().size()),
              res.command_status().data());
}

// A named coroutine taking its arguments by value: the frame keeps its
// own copies alive across every co_await.  (A capturing coroutine lambda
// would not: the lambda object dies before the coroutine finishes.)
uvpg::future<int> run(uv_loop_t *loop, std::string conninfo) {
  uvpg::connection conn;
  try {
    conn = co_await uvpg::connection::connect(loop, conninfo);
  } catch (const uvpg::error &e) {
    // A failed connect leaves nothing to close.
    std::fprintf(stderr, "connect failed: %s: %s\n",
                 uvpg_err_name(e.status()), e.what());
    co_return 1;
  }
  std::printf("connected to %s (server %d, backend pid %d)\n",
              conn.dsn().c_str(), conn.server_version(), conn.backend_pid());

  int exit_code = 0;
  try {
    // The values travel apart from the SQL text: no quoting, no
    // injection.  Arguments are converted to text parameters.
    uvpg::result r = co_await conn.query("SELECT $1::int * 2 AS doubled", 21);
    print_rows(r);

    // psycopg-style %s works too; an empty std::optional is NULL.
    std::optional<int> nothing;
    r = co_await conn.query("SELECT %s || ', ' || %s AS greeting, "
                            "%s::float8 / 2 AS half, %s AS flag, "
                            "%s::int AS nothing",
                            "Hello", std::string("world"), 3.0, true,
                            nothing);
    print_rows(r);

    // %(name)s placeholders are bound from a map, in any order; a name
    // may appear several times.  (The map is a named variable: GCC 12
    // rejects a braced-list temporary inside a co_await expression.)
    uvpg::named_params args{{"n", "3"}, {"label", "row"}};
    r = co_await conn.query(
        "SELECT i, %(label)s || ' #' || i AS label "
        "FROM generate_series(1, %(n)s::int) AS i WHERE %(label)s <> ''",
        args);
    print_rows(r);
  } catch (const uvpg::error &e) {
    std::fprintf(stderr, "query failed: %s: %s\n", uvpg_err_name(e.status()),
                 e.what());
    exit_code = 1;
  }

  // A statement that fails on purpose.  A co_await may not sit inside a
  // catch block, so the handler only records what it saw.
  std::string sqlstate;
  try {
    (void)co_await conn.query("SELECT * FROM no_such_table");
    std::fprintf(stderr, "the bad statement succeeded?\n");
  } catch (const uvpg::server_error &e) {
    std::printf("server error %s (%s) at position %d: %s\n",
                e.sqlstate().c_str(), uvpg_err_name(e.status()),
                e.position(), e.message_primary().c_str());
    sqlstate = e.sqlstate();
  } catch (const uvpg::error &e) {
    std::fprintf(stderr, "unexpected failure: %s: %s\n",
                 uvpg_err_name(e.status()), e.what());
  }
  if (sqlstate != "42P01") { // undefined_table
    exit_code = 1;
  }

  // The destructor would close too, but without waiting; awaiting
  // close() guarantees every handle is gone before the loop is closed.
  co_await conn.close();
  co_return exit_code;
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
    // The coroutine runs until its first co_await, then the loop drives
    // it.  uv_run() returns 0 when nothing is left to wait for.
    while (!done.available() && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    if (!done.available()) {
      std::fprintf(stderr, "the loop stopped before the coroutine ended\n");
    } else {
      // A future must be consumed: get() takes the value or rethrows.
      try {
        exit_code = done.get();
      } catch (const std::exception &e) {
        std::fprintf(stderr, "coroutine failed: %s\n", e.what());
      }
    }
  }

  // Let handles that are still closing finish, then prove none leaked.
  uv_run(&loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(&loop);
  if (rc != 0) {
    std::fprintf(stderr, "uv_loop_close: %s\n", uv_strerror(rc));
    return 1;
  }
  return exit_code;
}
