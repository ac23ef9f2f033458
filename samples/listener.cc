// listener.cc: a LISTEN/NOTIFY listener that survives losing its server.
//
// Listens to the channels named on the command line and prints every
// event: each notification, each loss (disconnected) and return
// (connected), and each gap, the one signal that notifications may have
// been missed.  A real program would read its state again from the
// database at a gap; this one says so.  The listener reconnects on its
// own with backoff, and its heartbeat finds a connection that went
// silent.  A notification whose payload is "stop" ends it.
// Run it as
//   samples/listener "host=localhost dbname=postgres" jobs alerts
// (an empty conninfo uses UVPG_DSN, or the PG* variables), then, from
// psql:  NOTIFY jobs, 'hello';  ...  NOTIFY jobs, 'stop';
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <uvpg.hh>

namespace {

uvpg::future<int> run(uv_loop_t *loop, std::string conninfo,
                      std::vector<std::string> channels) {
  uvpg::listener_options opts;
  opts.heartbeat_interval = std::chrono::seconds(10);
  opts.heartbeat_timeout = std::chrono::seconds(3);
  uvpg::listener l;
  try {
    // Fails at once if the first connect does (a wrong password, say);
    // listener::create() would retry in the background instead.
    l = co_await uvpg::listener::connect(loop, conninfo, channels, opts);
  } catch (const uvpg::error &e) {
    std::fprintf(stderr, "cannot listen: %s\n", e.what());
    co_return 1;
  }
  for (;;) {
    uvpg::listener_event ev = co_await l.next();
    switch (ev.kind) {
    case uvpg::listener_event_kind::notification:
      std::printf("%s: \"%s\" (from backend %d)\n", ev.notify.channel.c_str(),
                  ev.notify.payload.c_str(), ev.notify.pid);
      break;
    case uvpg::listener_event_kind::connected:
      std::printf("listening on backend %d\n", ev.backend_pid);
      break;
    case uvpg::listener_event_kind::disconnected:
      std::printf("disconnected (%s): %s\n", uvpg_err_name(ev.status),
                  ev.message.c_str());
      break;
    case uvpg::listener_event_kind::gap:
      // Some notifications may be lost: a real program reads its state
      // from the database again here.
      if (ev.status == UV_ENOBUFS) {
        std::printf("gap: %llu notifications dropped (too slow)\n",
                    static_cast<unsigned long long>(ev.dropped));
      } else {
        std::printf("gap: %lld ms without a session\n",
                    static_cast<long long>(ev.away.count()));
      }
      break;
    }
    std::fflush(stdout);
    if (ev.kind == uvpg::listener_event_kind::notification &&
        ev.notify.payload == "stop") {
      break;
    }
  }
  co_await l.close();
  co_return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::string conninfo = argc > 1 ? argv[1] : "";
  if (conninfo.empty()) {
    const char *env = std::getenv("UVPG_DSN");
    conninfo = env ? env : "";
  }
  std::vector<std::string> channels(argv + (argc > 1 ? 2 : argc),
                                    argv + argc);
  if (channels.empty()) {
    channels.push_back("uvpg_sample");
  }
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    return 1;
  }
  int exit_code = 1;
  {
    uvpg::future<int> done = run(&loop, conninfo, channels);
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
