// The deferred-task scheduler behind uvpg::future.
//
// Continuations attached to an available future, and completions that
// must not run inside the call that started them, are queued here and run
// from a uv_idle_t on the next loop iteration.  The idle handle exists
// only while tasks are queued: it is closed as soon as the queue drains,
// so it never keeps uv_loop_close() from succeeding.
#include <vector>

#include "loop_scope.hh"

namespace uvpg {

broken_promise::broken_promise()
    : interface_error(UV_ECANCELED, "broken promise: the producer went away") {}

namespace detail {
namespace {

struct scheduler {
  uv_idle_t idle;
  task *head = nullptr;
  task *tail = nullptr;
};

// Loops are thread-affine, so each thread keeps its own registry.
thread_local std::vector<std::pair<uv_loop_t *, scheduler *>> registry;
thread_local uv_loop_t *current = nullptr;

void forget(scheduler *s) {
  for (auto it = registry.begin(); it != registry.end(); ++it) {
    if (it->second == s) {
      registry.erase(it);
      return;
    }
  }
}

void on_idle(uv_idle_t *h) {
  auto *s = static_cast<scheduler *>(h->data);
  loop_scope scope(h->loop);
  // Run what is queued now; tasks queued meanwhile wait one more turn so
  // a task that reschedules itself cannot starve I/O.
  task *t = std::exchange(s->head, nullptr);
  s->tail = nullptr;
  while (t) {
    task *next = t->next_task;
    t->next_task = nullptr;
    t->run();
    t = next;
  }
  if (!s->head) {
    forget(s);
    uv_close(reinterpret_cast<uv_handle_t *>(&s->idle), [](uv_handle_t *h) {
      delete static_cast<scheduler *>(h->data);
    });
  }
}

} // namespace

void schedule(uv_loop_t *loop, task *t) noexcept {
  if (!loop) {
    t->run();
    return;
  }
  scheduler *s = nullptr;
  for (auto &[l, sch] : registry) {
    if (l == loop) {
      s = sch;
      break;
    }
  }
  if (!s) {
    s = new scheduler;
    uv_idle_init(loop, &s->idle);
    s->idle.data = s;
    uv_idle_start(&s->idle, on_idle);
    registry.emplace_back(loop, s);
  }
  if (s->tail) {
    s->tail->next_task = t;
  } else {
    s->head = t;
  }
  s->tail = t;
}

uv_loop_t *current_loop() noexcept { return current; }
void set_current_loop(uv_loop_t *loop) noexcept { current = loop; }

} // namespace detail
} // namespace uvpg
