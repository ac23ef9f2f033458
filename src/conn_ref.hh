// detail::conn_ref: a non-owning reference to a connection engine, for
// the objects bound to a connection that do not own it (cursors today;
// prepared statements, COPY writers and pool leases next).
//
// It points at the engine, never at the program's uvpg::connection, so
// the handle may move while the object lives.  It is generation-checked:
// it is taken on one lease of the connection (conn_impl::generation) and
// reads null once that lease ended, that is once the connection was
// closed (or, with a pool, released), and after the engine was freed.
// What the object then does gets one usage error text, from use().
//
// It registers as the engine's free_observer, so it hears of the close
// (connection_closing(), forwarded to its listener: the moment to fail
// pending work, holding the close callback back with conn_impl::hold())
// and of the free (it forgets the engine).
#ifndef UVPG_CONN_REF_HH
#define UVPG_CONN_REF_HH

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/engine.hh"

namespace uvpg::detail {

class conn_ref final : private free_observer {
public:
  /// Told once, from the loop, when the connection is closed: after its
  /// own operations were failed with UV_ECANCELED, before the close
  /// callback.
  struct listener {
    virtual void connection_closing() noexcept = 0;

  protected:
    ~listener() = default;
  };

  conn_ref() noexcept = default;
  explicit conn_ref(conn_impl *c, listener *l = nullptr) noexcept
      : _c(c), _gen(c ? c->generation : 0), _l(l) {
    if (_c) {
      _c->observe(this);
    }
  }
  ~conn_ref() {
    if (_c) {
      _c->unobserve(this);
    }
  }
  // Registered by address with the engine.
  conn_ref(const conn_ref &) = delete;
  conn_ref &operator=(const conn_ref &) = delete;

  /// The engine while the lease this reference was taken on lasts; null
  /// once the connection was closed or freed.
  conn_impl *get() const noexcept {
    return _c && _c->generation == _gen ? _c : nullptr;
  }
  explicit operator bool() const noexcept { return get() != nullptr; }

  /// The engine until it is freed, closed or not: for work that must
  /// finish after the close (hold(), unhold()).
  conn_impl *engine() const noexcept { return _c; }

  /// get(), or throws usage_error "cannot call <what>(): the connection
  /// is closed", `what` naming the method (`cursor.fetchone`).
  conn_impl &use(std::string_view what) const {
    if (conn_impl *c = get()) {
      return *c;
    }
    if (_c && !_c->close_requested) {
      throw usage_error(released_text(what));
    }
    throw usage_error(closed_text(what));
  }
  static std::string released_text(std::string_view what) {
    return "cannot call " + std::string(what) +
           "(): the connection went back to its pool";
  }
  static std::string closed_text(std::string_view what) {
    return "cannot call " + std::string(what) +
           "(): the connection is closed";
  }

private:
  void connection_closing() noexcept override {
    if (_l) {
      _l->connection_closing();
    }
  }
  void connection_freed() noexcept override { _c = nullptr; }

  conn_impl *_c = nullptr;
  uint64_t _gen = 0;
  listener *_l = nullptr;
};

} // namespace uvpg::detail

#endif // UVPG_CONN_REF_HH
