// The statement cache: an LRU of server-side prepared statements per
// connection, so a repeated statement is parsed and planned once (the
// engine sends its Parse in the same pipeline segment as its first
// execution, so caching costs no round trip).
#include <cstring>

#include <uv.h>

#include "stmt_cache.hh"

namespace uvpg::detail {

void release(stmt_entry *e) noexcept {
  if (e && --e->refs == 0) {
    delete e;
  }
}

stmt_cache::~stmt_cache() {
  while (lru_head) {
    stmt_entry *e = lru_head;
    unlink(e);
    e->cached = false;
    release(e);
  }
}

void stmt_cache::unlink(stmt_entry *e) noexcept {
  (e->lru_prev ? e->lru_prev->lru_next : lru_head) = e->lru_next;
  (e->lru_next ? e->lru_next->lru_prev : lru_tail) = e->lru_prev;
  e->lru_prev = e->lru_next = nullptr;
}

void stmt_cache::link_front(stmt_entry *e) noexcept {
  e->lru_next = lru_head;
  e->lru_prev = nullptr;
  (lru_head ? lru_head->lru_prev : lru_tail) = e;
  lru_head = e;
}

stmt_entry *stmt_cache::find(std::string_view key, uint64_t now) {
  auto it = map.find(key);
  if (it == map.end()) {
    return nullptr;
  }
  stmt_entry *e = it->second;
  if (lifetime_ms && now - e->created >= lifetime_ms) {
    forget(e, true);
    return nullptr;
  }
  if (lru_head != e) {
    unlink(e);
    link_front(e);
  }
  return e;
}

stmt_entry *stmt_cache::insert(std::string key, uint64_t now) {
  while (map.size() >= capacity && lru_tail) {
    forget(lru_tail, true);
  }
  auto *e = new stmt_entry;
  e->key = std::move(key);
  e->name = prefix + std::to_string(++counter);
  e->created = now;
  map.emplace(e->key, e);
  link_front(e);
  return e;
}

void stmt_cache::forget_all(bool deallocate) {
  while (lru_head) {
    forget(lru_head, deallocate);
  }
}

void stmt_cache::forget(stmt_entry *e, bool deallocate) {
  if (!e->cached) {
    return;
  }
  map.erase(e->key);
  unlink(e);
  e->cached = false;
  if (deallocate) {
    evicted.push_back(e->name);
  }
  release(e);
}

std::string statement_prefix() {
  unsigned char bytes[8];
  if (uv_random(nullptr, nullptr, bytes, sizeof bytes, 0, nullptr) != 0) {
    // No entropy source: the clock and an address still differ between
    // the connections of a process and between processes.
    uint64_t v = uv_hrtime() ^ reinterpret_cast<uintptr_t>(&v);
    std::memcpy(bytes, &v, sizeof bytes);
  }
  static const char hex[] = "0123456789abcdef";
  std::string out = "_uvpg_";
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  out += '_';
  return out;
}

} // namespace uvpg::detail
