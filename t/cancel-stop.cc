// Cancellation against a frozen server: the postmaster and every backend
// stopped with SIGSTOP, so a cancel request is accepted by the kernel and
// never answered.  The requests must take no thread (DNS and the
// program's own uv_queue_work run meanwhile), end within the cancel
// timeout, and never hold a close or the loop.  It freezes its whole
// server: a private cluster of its own (OWN_SERVER_TESTS).
#include <dirent.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include "test.hh"

TEST_SUITE_BEGIN("live/cancel-stop");

namespace {

// The postmaster and its children, stopped for the scope.
struct frozen_server {
  std::vector<int> pids;
  frozen_server() {
    std::ifstream f(test::env("UVPG_TEST_CLUSTER") + "/data/postmaster.pid");
    int postmaster = 0;
    REQUIRE((f >> postmaster));
    REQUIRE(::kill(postmaster, SIGSTOP) == 0); // first: no new children
    pids.push_back(postmaster);
    DIR *d = opendir("/proc");
    REQUIRE(d != nullptr);
    while (dirent *e = readdir(d)) {
      int pid = std::atoi(e->d_name);
      if (pid <= 0) {
        continue;
      }
      std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
      std::string line;
      std::getline(st, line);
      // pid (comm) state ppid ...: comm may hold spaces, so read after ')'.
      auto close = line.rfind(')');
      if (close == std::string::npos) {
        continue;
      }
      char state;
      int ppid = 0;
      if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) ==
              2 &&
          ppid == postmaster) {
        if (::kill(pid, SIGSTOP) == 0) {
          pids.push_back(pid);
        }
      }
    }
    closedir(d);
  }
  void thaw() {
    for (int pid : pids) {
      ::kill(pid, SIGCONT);
    }
    pids.clear();
  }
  ~frozen_server() { thaw(); }
};

uvpg::connect_options with_cancel_timeout(int ms) {
  uvpg::connect_options o;
  o.cancel_timeout = std::chrono::milliseconds(ms);
  return o;
}

} // namespace

TEST_CASE("frozen server: cancels take no thread; DNS and the program's "
          "thread-pool work run; every connection ends; the loop exits") {
  test::loop_fixture lf;
  // More requests than libuv's thread pool has threads (4 by default).
  constexpr int n = 6;
  std::vector<uvpg::connection> conns;
  std::vector<uvpg::future<uvpg::result>> qs;
  std::vector<uvpg::termination_event> lost;
  for (int i = 0; i < n; ++i) {
    conns.push_back(test::connect(&lf.loop, with_cancel_timeout(3000)));
    conns.back().add_termination_listener(
        [&](const uvpg::termination_event &e) { lost.push_back(e); });
  }
  frozen_server frozen;
  uvpg::query_options o;
  o.timeout = std::chrono::milliseconds(200);
  for (auto &c : conns) {
    qs.push_back(c.query("SELECT 1", {}, o));
  }
  // Every statement is told at its deadline; its cancel request is out.
  REQUIRE(test::run_until(&lf.loop, [&] {
    for (auto &q : qs) {
      if (!q.available()) {
        return false;
      }
    }
    return true;
  }, 10));
  for (auto &q : qs) {
    CHECK(test::status_of(&lf.loop, std::move(q)) == UV_ETIMEDOUT);
  }
  REQUIRE(lost.empty());
  // The thread pool is free: a job of the program's and a DNS lookup
  // both finish while the cancel requests still wait for the server.
  struct job {
    uv_work_t w;
    bool done = false;
  } work;
  work.w.data = &work;
  REQUIRE(uv_queue_work(
              &lf.loop, &work.w, [](uv_work_t *) {},
              [](uv_work_t *w, int) {
                static_cast<job *>(w->data)->done = true;
              }) == 0);
  struct lookup {
    uv_getaddrinfo_t req;
    int status = 1;
  } dns;
  dns.req.data = &dns;
  REQUIRE(uv_getaddrinfo(
              &lf.loop, &dns.req,
              [](uv_getaddrinfo_t *r, int status, addrinfo *res) {
                static_cast<lookup *>(r->data)->status = status;
                uv_freeaddrinfo(res);
              },
              "localhost", nullptr, nullptr) == 0);
  REQUIRE(test::run_until(&lf.loop, [&] {
    return (work.done && dns.status != 1) || !lost.empty();
  }, 10));
  CHECK(work.done);
  CHECK(dns.status == 0);
  CHECK_MESSAGE(lost.empty(), "a cancel request ended before the thread "
                              "pool ran the program's work");
  // The cancel timeout ends every request; the server might still act
  // on one later, so each connection is given up, and says why.
  REQUIRE(test::run_until(&lf.loop, [&] { return lost.size() == n; }, 15));
  for (auto &e : lost) {
    CHECK(e.status == UVPG_ECONNBAD);
    CHECK(e.message.find("cancel") != std::string::npos);
  }
  for (auto &c : conns) {
    test::wait(&lf.loop, c.close());
  }
  frozen.thaw();
  // The loop fixture's destructor runs the loop to its end and checks
  // uv_loop_close(): no handle of a cancel request is left behind.
}

TEST_CASE("frozen server: close() does not wait for an outstanding cancel "
          "request") {
  test::loop_fixture lf;
  // A cancel timeout far beyond the test's watchdog.
  auto c = test::connect(&lf.loop, with_cancel_timeout(120000));
  frozen_server frozen;
  uvpg::query_options o;
  o.timeout = std::chrono::milliseconds(200);
  auto q = c.query("SELECT 1", {}, o);
  REQUIRE(test::run_until(&lf.loop, [&] { return q.available(); }, 10));
  CHECK(test::status_of(&lf.loop, std::move(q)) == UV_ETIMEDOUT);
  auto closed = c.close();
  REQUIRE(test::run_until(&lf.loop, [&] { return closed.available(); }, 5));
  frozen.thaw();
}

TEST_CASE("frozen server: connection::cancel() fails with timed_out at the "
          "cancel timeout, and the connection is given up") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop, with_cancel_timeout(1000));
  auto q = c.query("SELECT pg_sleep(60)");
  REQUIRE(test::run_until(&lf.loop, [&] {
    return c.status() == UVPG_CONN_BUSY;
  }));
  frozen_server frozen;
  auto cancel = c.cancel();
  REQUIRE(test::run_until(&lf.loop, [&] { return cancel.available(); }, 10));
  CHECK(test::status_of(&lf.loop, std::move(cancel)) == UV_ETIMEDOUT);
  REQUIRE(test::run_until(&lf.loop, [&] { return q.available(); }, 5));
  CHECK(test::status_of(&lf.loop, std::move(q)) == UVPG_ECONNBAD);
  CHECK(c.closed());
  test::wait(&lf.loop, c.close());
  frozen.thaw();
  // The server, thawed, serves again.
  auto again = test::connect(&lf.loop);
  CHECK(test::wait(&lf.loop, again.fetchval<int>("SELECT 1")) == 1);
  test::wait(&lf.loop, again.close());
}
