/// \file uvpg/future.hh
/// Single-threaded, loop-affine futures and promises.
///
/// A `promise<T>` is the producer end of one asynchronous value; its
/// `future<T>` is the consumer end.  Exactly one of `set_value()` and
/// `set_exception()` is called on a promise; destroying a promise that
/// was never fulfilled fails its future with `uvpg::broken_promise`.
///
/// A future is consumed once, by one of:
///  - `co_await fut` inside a coroutine (any coroutine whose return type
///    is `uvpg::future<U>`, or another coroutine type of the user's),
///  - `std::move(fut).then(f)`: `f(T)` runs when the value arrives and
///    its return value (plain or a future) becomes the new future's value;
///    a failure skips `f` and passes on,
///  - `std::move(fut).then_wrapped(f)`: `f(future<T>)` runs on success and
///    failure alike.
///
/// Rules.  Everything runs on the thread of the `uv_loop_t` that produced
/// the value.  A continuation never runs inside the call that attached it:
/// attaching to a future that is already available defers the
/// continuation to the next loop iteration.  A future costs one
/// allocation (its shared state); `then()` costs one more.
///
/// Do not pass a capturing coroutine lambda to `then()`: the lambda object
/// dies before the coroutine finishes.  Write a named coroutine instead.
#ifndef UVPG_FUTURE_HH
#define UVPG_FUTURE_HH

#include <coroutine>
#include <exception>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include <uv.h>

#include "uvpg/error.hh"

namespace uvpg {

template <class T = void> class future;
template <class T = void> class promise;

/// The error a future gets when its promise is destroyed unfulfilled
/// (status UV_ECANCELED): a fault of the interface, not the database.
class UVPG_CXX_EXTERN broken_promise : public interface_error {
public:
  broken_promise();
};

namespace detail {

/// A piece of work deferred to the loop.
struct task {
  task *next_task = nullptr;
  virtual void run() noexcept = 0;

protected:
  ~task() = default;
};

/// Runs `t` from `loop` on its next iteration, never synchronously.
/// With a null loop (no uvpg object ever used on this thread) `t` runs
/// at once.
UVPG_CXX_EXTERN void schedule(uv_loop_t *loop, task *t) noexcept;

/// The loop uvpg last ran on in this thread (null before any).
UVPG_CXX_EXTERN uv_loop_t *current_loop() noexcept;
UVPG_CXX_EXTERN void set_current_loop(uv_loop_t *loop) noexcept;

struct state_base;

/// Something waiting for a state to become available.
struct waiter {
  virtual void fire(state_base *src) noexcept = 0;

protected:
  ~waiter() = default;
};

struct state_base {
  uv_loop_t *loop = current_loop();
  unsigned refs = 1;
  enum class status : unsigned char { pending, ready, failed };
  status st = status::pending;
  std::exception_ptr error;
  std::coroutine_handle<> coro; // a coroutine suspended on this state
  waiter *cont = nullptr;       // or a continuation

  virtual ~state_base() = default;
  bool available() const noexcept { return st != status::pending; }
  void add_ref() noexcept { ++refs; }
  void release() noexcept {
    if (--refs == 0) {
      delete this;
    }
  }

  /// Wakes whoever waits; called once, when the state becomes available.
  void notify() noexcept {
    if (coro) {
      std::exchange(coro, nullptr).resume();
    } else if (cont) {
      std::exchange(cont, nullptr)->fire(this);
    }
  }
  void fail(std::exception_ptr e) noexcept {
    error = std::move(e);
    st = status::failed;
    notify();
  }
  /// future::cancel() on a pending state: a producer that can stop its
  /// work (a statement) overrides this, arranges for the state to fail
  /// with operation_canceled from the loop, and returns true.  Never
  /// completes the state inside the call.
  virtual bool cancel_requested() noexcept { return false; }
};

template <class T> struct state : state_base {
  std::optional<T> value;
  void set(T v) noexcept(std::is_nothrow_move_constructible_v<T>) {
    value.emplace(std::move(v));
    st = status::ready;
    notify();
  }
  T take() {
    if (st == status::failed) {
      std::rethrow_exception(error);
    }
    return std::move(*value);
  }
};

template <> struct state<void> : state_base {
  void set() noexcept {
    st = status::ready;
    notify();
  }
  void take() {
    if (st == status::failed) {
      std::rethrow_exception(error);
    }
  }
};

/// A future on a state the caller allocated (for producers that embed
/// the state in their own object, saving an allocation); adds a ref.
template <class T> future<T> future_of(state<T> *st);

template <class T> struct is_future : std::false_type {};
template <class T> struct is_future<future<T>> : std::true_type {};

/// What `then(f)` on a future<T> yields: future<R> where R is f's return
/// type, unwrapped once when f itself returns a future.
template <class R> struct unwrap {
  using type = R;
};
template <class R> struct unwrap<future<R>> {
  using type = R;
};

template <class T, class F> struct then_result {
  using type = std::invoke_result_t<F, T>;
};
template <class F> struct then_result<void, F> {
  using type = std::invoke_result_t<F>;
};

} // namespace detail

/// The consumer end of an asynchronous value.  Move-only.
template <class T> class [[nodiscard]] future {
public:
  future() noexcept = default;
  future(future &&o) noexcept : _st(std::exchange(o._st, nullptr)) {}
  future &operator=(future &&o) noexcept {
    if (this != &o) {
      reset();
      _st = std::exchange(o._st, nullptr);
    }
    return *this;
  }
  future(const future &) = delete;
  future &operator=(const future &) = delete;
  ~future() { reset(); }

  /// True once the value or the error is there.
  bool available() const noexcept { return _st && _st->available(); }
  /// True once the error is there.
  bool failed() const noexcept {
    return _st && _st->st == detail::state_base::status::failed;
  }
  /// True while this object refers to a value not yet consumed.
  bool valid() const noexcept { return _st != nullptr; }

  /// Takes the value of an available future; rethrows its error.
  /// \throws usage_error when the future is not available.
  T get() {
    if (!available()) {
      throw usage_error("future::get: the value is not available yet");
    }
    auto *st = static_cast<detail::state<T> *>(_st);
    struct release_on_exit {
      future *f;
      ~release_on_exit() { f->reset(); }
    } guard{this};
    return st->take();
  }

  /// Asks the producer to stop the work this future waits for: a
  /// statement still queued leaves the queue, a running one is cancelled
  /// on the server (see connection::cancel()).  The future then fails
  /// with operation_canceled, from the loop, never inside this call;
  /// or completes as it would have, when the work had already ended.
  /// A future made by then() passes the request on to the future it
  /// waits for.  False when nothing can be cancelled: the future is
  /// available, invalid, or its producer cannot stop (a coroutine's).
  bool cancel() noexcept {
    return _st && !_st->available() && _st->cancel_requested();
  }

  /// The error of a failed future (null otherwise).
  std::exception_ptr get_exception() const noexcept {
    return failed() ? _st->error : nullptr;
  }

  /// Runs `f(T)` (or `f()` for future<void>) when the value arrives.
  /// A failure skips `f` and fails the returned future with it.
  template <class F> auto then(F &&f) && {
    using R = typename detail::then_result<T, F>::type;
    using U = typename detail::unwrap<R>::type;
    return std::move(*this).template chain<U>(
        [fn = std::forward<F>(f)](future<T> &&src) mutable -> future<U> {
          if (src.failed()) {
            return future<U>::make_failed(src.get_exception());
          }
          if constexpr (std::is_void_v<T>) {
            src.get();
            return invoke_into<U>(fn);
          } else {
            return invoke_into<U>(fn, src.get());
          }
        });
  }

  /// Runs `f(future<T>)` when the future is available, failed or not.
  template <class F> auto then_wrapped(F &&f) && {
    using R = std::invoke_result_t<F, future<T> &&>;
    using U = typename detail::unwrap<R>::type;
    return std::move(*this).template chain<U>(
        [fn = std::forward<F>(f)](future<T> &&src) mutable -> future<U> {
          return invoke_into<U>(fn, std::move(src));
        });
  }

  /// A future that is already failed with `e`.
  static future make_failed(std::exception_ptr e) {
    future f(new detail::state<T>);
    f._st->error = std::move(e);
    f._st->st = detail::state_base::status::failed;
    return f;
  }

  // co_await support.
  bool await_ready() const noexcept { return available(); }
  void await_suspend(std::coroutine_handle<> h) noexcept {
    if (!_st) {
      // A moved-from or consumed future: fail the awaiter at once.
      _st = new detail::state<T>;
      _st->error = std::make_exception_ptr(
          usage_error("co_await on an invalid future"));
      _st->st = detail::state_base::status::failed;
      h.resume();
      return;
    }
    _st->coro = h;
  }
  T await_resume() {
    if (!_st) {
      throw usage_error("co_await on an invalid future");
    }
    return get();
  }

  struct promise_type;

private:
  template <class> friend class future;
  template <class> friend class promise;
  template <class U> friend future<U> detail::future_of(detail::state<U> *);

  explicit future(detail::state_base *st) noexcept : _st(st) {}
  void reset() noexcept {
    if (_st) {
      std::exchange(_st, nullptr)->release();
    }
  }

  template <class U, class Fn, class... A>
  static future<U> invoke_into(Fn &fn, A &&...a) {
    using R = std::invoke_result_t<Fn &, A...>;
    try {
      if constexpr (detail::is_future<R>::value) {
        return fn(std::forward<A>(a)...);
      } else if constexpr (std::is_void_v<R>) {
        fn(std::forward<A>(a)...);
        return future<U>::make_ready();
      } else {
        return future<U>::make_ready(fn(std::forward<A>(a)...));
      }
    } catch (...) {
      return future<U>::make_failed(std::current_exception());
    }
  }

  template <class... V> static future make_ready(V &&...v) {
    auto *st = new detail::state<T>;
    if constexpr (std::is_void_v<T>) {
      st->st = detail::state_base::status::ready;
    } else {
      st->value.emplace(std::forward<V>(v)...);
      st->st = detail::state_base::status::ready;
    }
    return future(st);
  }

  /// The continuation of then()/then_wrapped(): a state<U> that waits on
  /// this future, runs `fn` and forwards its (future) result.
  template <class U, class Fn>
  struct chain_state final : detail::state<U>,
                             detail::waiter,
                             detail::task {
    Fn fn;
    detail::state_base *src;
    explicit chain_state(Fn &&f, detail::state_base *s)
        : fn(std::move(f)), src(s) {}

    void fire(detail::state_base *) noexcept override {
      future<T> in(std::exchange(src, nullptr));
      future<U> out = fn(std::move(in));
      forward(std::move(out));
      this->release(); // the reference the source held on us
    }
    void run() noexcept override { fire(src); }
    bool cancel_requested() noexcept override {
      // Before the continuation ran: the source; after, the future it
      // returned, while this one waits for it.
      detail::state_base *on = src ? src : inner;
      return on && !on->available() && on->cancel_requested();
    }
    detail::state_base *inner = nullptr; // held by the forwarder

    /// Completes this state from `out` now or when it becomes available.
    void forward(future<U> &&out) noexcept {
      if (!out._st) {
        this->fail(std::make_exception_ptr(
            usage_error("then: continuation returned an invalid future")));
      } else if (out.available()) {
        move_from(static_cast<detail::state<U> *>(out._st));
      } else {
        this->add_ref();
        auto *relay = new forwarder{this};
        out._st->cont = relay;
        // `out` keeps its reference; the forwarder takes it over.
        relay->inner = inner = std::exchange(out._st, nullptr);
      }
    }
    void move_from(detail::state<U> *in) noexcept {
      if (in->st == detail::state_base::status::failed) {
        this->fail(in->error);
      } else if constexpr (std::is_void_v<U>) {
        this->set();
      } else {
        this->set(std::move(*in->value));
      }
    }
    struct forwarder final : detail::waiter {
      chain_state *outer;
      detail::state_base *inner = nullptr;
      explicit forwarder(chain_state *o) : outer(o) {}
      void fire(detail::state_base *src) noexcept override {
        outer->inner = nullptr;
        outer->move_from(static_cast<detail::state<U> *>(src));
        outer->release();
        inner->release();
        delete this;
      }
    };
  };

  template <class U, class Fn> future<U> chain(Fn &&fn) && {
    if (!_st) {
      return future<U>::make_failed(std::make_exception_ptr(
          usage_error("then: the future is invalid")));
    }
    auto *next = new chain_state<U, std::decay_t<Fn>>(std::move(fn),
                                                      std::exchange(_st,
                                                                    nullptr));
    next->loop = next->src->loop ? next->src->loop : next->loop;
    next->add_ref(); // held by the source until it fires
    future<U> result(next);
    if (next->src->available()) {
      detail::schedule(next->loop, next);
    } else {
      next->src->cont = next;
    }
    return result;
  }

  detail::state_base *_st = nullptr;
};

/// The producer end of a future.  Move-only.
template <class T> class promise {
public:
  promise() : _st(new detail::state<T>) {}
  explicit promise(uv_loop_t *loop) : promise() { _st->loop = loop; }
  promise(promise &&o) noexcept
      : _st(std::exchange(o._st, nullptr)), _taken(o._taken) {}
  promise &operator=(promise &&o) noexcept {
    if (this != &o) {
      abandon();
      _st = std::exchange(o._st, nullptr);
      _taken = o._taken;
    }
    return *this;
  }
  promise(const promise &) = delete;
  promise &operator=(const promise &) = delete;
  ~promise() { abandon(); }

  /// The future of this promise.
  /// \throws usage_error when called twice.
  future<T> get_future() {
    if (!_st || _taken) {
      throw usage_error("promise::get_future: called twice");
    }
    _taken = true;
    _st->add_ref();
    return future<T>(_st);
  }

  /// Fulfils the future; runs its waiter, if any, before returning.
  template <class... V> void set_value(V &&...v) noexcept {
    if (auto *st = claim()) {
      st->set(std::forward<V>(v)...);
      st->release();
    }
  }
  /// Fails the future; runs its waiter, if any, before returning.
  void set_exception(std::exception_ptr e) noexcept {
    if (auto *st = claim()) {
      st->fail(std::move(e));
      st->release();
    }
  }
  template <class E> void set_exception(E &&e) noexcept {
    set_exception(std::make_exception_ptr(std::forward<E>(e)));
  }

private:
  detail::state<T> *claim() noexcept {
    auto *st = std::exchange(_st, nullptr);
    if (st && st->available()) {
      st->release();
      return nullptr;
    }
    return static_cast<detail::state<T> *>(st);
  }
  void abandon() noexcept {
    if (_st && !_st->available()) {
      set_exception(std::make_exception_ptr(broken_promise()));
    } else if (_st) {
      std::exchange(_st, nullptr)->release();
    }
  }

  detail::state_base *_st;
  bool _taken = false;
};

namespace detail {

/// What the coroutine promise types of future<T> and future<void> share.
template <class T> struct coroutine_promise_base {
  state<T> *st = new state<T>;

  future<T> get_return_object() noexcept { return future_of(st); }
  std::suspend_never initial_suspend() noexcept { return {}; }
  std::suspend_never final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { st->fail(std::current_exception()); }
  ~coroutine_promise_base() {
    if (!st->available()) {
      st->fail(std::make_exception_ptr(broken_promise()));
    }
    st->release();
  }
};

} // namespace detail

/// The coroutine side: `future<T> f() { co_return v; }`.
template <class T>
struct future<T>::promise_type : detail::coroutine_promise_base<T> {
  template <class V> void return_value(V &&v) {
    this->st->set(std::forward<V>(v));
  }
};

template <>
struct future<void>::promise_type : detail::coroutine_promise_base<void> {
  void return_void() noexcept { st->set(); }
};

template <class T> future<T> detail::future_of(detail::state<T> *st) {
  st->add_ref();
  return future<T>(st);
}

/// A future that is already available with `v`.
template <class T> future<std::decay_t<T>> make_ready_future(T &&v) {
  promise<std::decay_t<T>> p;
  auto f = p.get_future();
  p.set_value(std::forward<T>(v));
  return f;
}
inline future<void> make_ready_future() {
  promise<void> p;
  auto f = p.get_future();
  p.set_value();
  return f;
}
/// A future that is already failed with `e`.
template <class T = void, class E> future<T> make_exception_future(E &&e) {
  promise<T> p;
  auto f = p.get_future();
  p.set_exception(std::forward<E>(e));
  return f;
}

} // namespace uvpg

#endif // UVPG_FUTURE_HH
