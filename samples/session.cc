// session.cc: watching a session, and a transaction that retries.
//
// Shows what a long-lived service adds to each connection: a notice
// handler (the server's NOTICEs and WARNINGs, which uvpg never prints by
// itself), a query logger (statement, outcome and time, never a
// parameter's value), a termination listener (the connection was lost),
// and retry_transaction(), which runs a function in a SERIALIZABLE
// transaction and runs it again when the server reports a serialization
// failure or a deadlock.  Errors are caught by their class.
// Run it as
//   samples/session "host=localhost dbname=postgres"
// or with the conninfo in UVPG_DSN (empty: the PG* variables).
#include <cstdio>
#include <cstdlib>
#include <string>

#include <uvpg.hh>

namespace {

void watch(uvpg::connection &conn) {
  conn.add_notice_handler([](const uvpg::notice &n) {
    std::printf("server %s (%s): %s\n", n.severity().c_str(),
                n.sqlstate().c_str(), n.message_primary().c_str());
  });
  conn.add_query_logger([](const uvpg::query_log_record &r) {
    std::printf("log: %s -> %s, %lld rows, %.3f ms\n", r.sql.c_str(),
                r.status == 0 ? "ok" : uvpg_err_name(r.status),
                static_cast<long long>(r.rows),
                static_cast<double>(r.elapsed.count()) / 1000.0);
  });
  conn.add_termination_listener([](const uvpg::termination_event &e) {
    std::fprintf(stderr, "connection lost (%s): %s\n",
                 e.sqlstate.empty() ? "no SQLSTATE" : e.sqlstate.c_str(),
                 e.message.c_str());
  });
}

// One attempt of the transfer; retry_transaction() may call it again, so
// it does nothing outside the database.
uvpg::future<void> transfer(uvpg::connection &conn, int amount) {
  co_await conn.execute("UPDATE sample_acct SET n = n - $1 WHERE id = 1",
                        amount);
  co_await conn.execute("UPDATE sample_acct SET n = n + $1 WHERE id = 2",
                        amount);
}

uvpg::future<int> run(uv_loop_t *loop, std::string conninfo) {
  uvpg::connection conn;
  try {
    conn = co_await uvpg::connection::connect(loop, conninfo);
  } catch (const uvpg::error &e) {
    std::fprintf(stderr, "connect failed: %s\n", e.what());
    co_return 1;
  }
  watch(conn);

  int exit_code = 0;
  try {
    co_await conn.execute("DROP TABLE IF EXISTS sample_acct"); // a NOTICE
    co_await conn.execute("CREATE TEMP TABLE sample_acct "
                          "(id int PRIMARY KEY, n int CHECK (n >= 0))");
    co_await conn.execute("INSERT INTO sample_acct VALUES (1, 10), (2, 0)");

    uvpg::retry_options opts;
    opts.tx.isolation = uvpg::isolation_level::serializable;
    co_await uvpg::retry_transaction(
        conn, [&](uvpg::transaction &) { return transfer(conn, 7); }, opts);

    // Too much: the CHECK fails, the transaction is rolled back, and the
    // error is an integrity_error of class check_violation.
    try {
      co_await uvpg::retry_transaction(
          conn, [&](uvpg::transaction &) { return transfer(conn, 7); }, opts);
      exit_code = 1;
    } catch (const uvpg::errors::check_violation &e) {
      std::printf("refused: %s (constraint %s)\n", e.message_primary().c_str(),
                  e.constraint_name().c_str());
    }
    auto r = co_await conn.query("SELECT id, n FROM sample_acct ORDER BY id");
    for (const uvpg::row &row : r) {
      std::printf("account %lld: %lld\n",
                  static_cast<long long>(row.get<int64_t>(0)),
                  static_cast<long long>(row.get<int64_t>(1)));
    }
  } catch (const uvpg::error &e) {
    std::fprintf(stderr, "failed: %s\n", e.what());
    exit_code = 1;
  }
  std::printf("notices kept: %zu\n", conn.notices().size());
  co_await conn.close();
  co_return exit_code;
}

} // namespace

int main(int argc, char **argv) {
  const char *conninfo = argc > 1 ? argv[1] : std::getenv("UVPG_DSN");
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    return 1;
  }
  int exit_code = 1;
  {
    uvpg::future<int> done = run(&loop, conninfo ? conninfo : "");
    while (!done.available() && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    try {
      exit_code = done.available() ? done.get() : 1;
    } catch (const std::exception &e) {
      std::fprintf(stderr, "failed: %s\n", e.what());
    }
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  return uv_loop_close(&loop) == 0 ? exit_code : 1;
}
