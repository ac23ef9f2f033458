// notify.cc: LISTEN/NOTIFY between two sessions, aiopg's example.
//
// One task listens on "channel" on a connection of its own and prints
// what arrives through the connection's queue (conn.notifies().get(),
// aiopg's conn.notifies) until the payload "finish"; the other borrows a
// connection from a pool and sends five messages, then "finish".  A
// lost connection ends the listener with the error, as aiopg's
// `except psycopg2.Error` does.  The LISTEN runs before the notifier
// starts: a notification sent before it would not be heard.
// Run it as
//   samples/notify "host=localhost dbname=postgres"
// or with the conninfo in UVPG_DSN (empty: the PG* variables).
#include <cstdio>
#include <cstdlib>
#include <string>

#include <uvpg.hh>

namespace {

uvpg::future<void> notify(uvpg::connection &conn) {
  for (int i = 0; i < 5; ++i) {
    std::string msg = "message " + std::to_string(i);
    std::printf("Send -> %s\n", msg.c_str());
    co_await conn.notify("channel", msg);
  }
  co_await conn.notify("channel", "finish");
}

uvpg::future<void> listen(uvpg::notify_queue notifies) {
  for (;;) {
    uvpg::notification msg;
    try {
      msg = co_await notifies.get();
    } catch (const uvpg::error &e) {
      std::printf("ERROR: %s\n", e.what());
      co_return;
    }
    if (msg.payload == "finish") {
      co_return;
    }
    std::printf("Receive <- %s\n", msg.payload.c_str());
  }
}

uvpg::future<int> run(uv_loop_t *loop, std::string dsn) {
  int exit_code = 0;
  uvpg::connection listen_conn;
  uvpg::pool notify_pool;
  try {
    listen_conn = co_await uvpg::connection::connect(loop, dsn);
    notify_pool = uvpg::pool::create(loop, dsn);
    co_await listen_conn.listen("channel");
    uvpg::future<void> listener = listen(listen_conn.notifies());
    {
      uvpg::connection notify_conn = co_await notify_pool.acquire();
      co_await notify(notify_conn);
    } // back to the pool
    co_await std::move(listener);
  } catch (const uvpg::error &e) {
    std::fprintf(stderr, "failed: %s\n", e.what());
    exit_code = 1;
  }
  co_await notify_pool.close();
  co_await listen_conn.close();
  std::printf("ALL DONE\n");
  co_return exit_code;
}

} // namespace

int main(int argc, char **argv) {
  const char *dsn = argc > 1 ? argv[1] : std::getenv("UVPG_DSN");
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    return 1;
  }
  int exit_code = 1;
  {
    uvpg::future<int> done = run(&loop, dsn ? dsn : "");
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
