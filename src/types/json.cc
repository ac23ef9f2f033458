// The json and jsonb typecasters (include/uvpg/types/json.hh).
//
// simdjson reads up to SIMDJSON_PADDING bytes past the end of its input,
// so a value is never parsed in place in the PGresult: it is copied into
// a simdjson::padded_string, which the json keeps as its text() and
// which the document's strings do not point into (the DOM copies them
// into its own buffer), then parsed with realloc_if_needed false so the
// parser does not copy it a second time.
//
// The parser is the expensive part to make (its buffers grow to the
// largest document seen); the document is the per-value part.  So each
// connection keeps one parser in its type_context (src/type_context.hh) and
// each json owns one document.
#include <cstring>
#include <optional>

#include "../type_context.hh"
#include "uvpg/types/json.hh"

namespace uvpg {

struct json::state {
  simdjson::padded_string text;
  simdjson::dom::document doc;
  oid_t type = oids::jsonb;
};

namespace {

// A document above this gets a parser of its own: a kept parser holds
// about 5 bytes per byte of the largest input it has seen, which a
// connection should not keep after one large value.
constexpr size_t big_document = 4u << 20;

simdjson::dom::parser &thread_parser() {
  thread_local simdjson::dom::parser p;
  return p;
}

simdjson::dom::parser &connection_parser(const detail::type_context *ctx) {
  if (!ctx->json_parser) {
    ctx->json_parser = new simdjson::dom::parser;
    ctx->free_json_parser = [](void *p) {
      delete static_cast<simdjson::dom::parser *>(p);
    };
  }
  return *static_cast<simdjson::dom::parser *>(ctx->json_parser);
}

// Parses `text` into a new state; on failure returns null and sets
// `err` to simdjson's message.
std::shared_ptr<json::state> make_state(std::string_view text, oid_t type,
                                        const detail::type_context *ctx,
                                        const char *&err) {
  auto s = std::make_shared<json::state>();
  s->text = simdjson::padded_string(text.data(), text.size());
  s->type = type;
  std::optional<simdjson::dom::parser> own;
  simdjson::dom::parser *p;
  if (text.size() > big_document) {
    p = &own.emplace();
  } else if (ctx) {
    p = &connection_parser(ctx);
  } else {
    p = &thread_parser();
  }
  auto r =
      p->parse_into_document(s->doc, s->text.data(), s->text.size(), false);
  if (r.error()) {
    err = simdjson::error_message(r.error());
    return nullptr;
  }
  return s;
}

// The JSON text of a json or jsonb field, in either form.
std::string_view json_bytes(const field &f, const char *wants) {
  if (f.type() != oids::json && f.type() != oids::jsonb) {
    detail::wrong_type(f, wants);
  }
  std::string_view raw = f.raw();
  if (f.binary() && f.type() == oids::jsonb) {
    // jsonb_send: a version byte, 1 so far, then the text.
    if (raw.empty() || raw[0] != 1) {
      detail::malformed(f, "jsonb (unknown binary version)");
    }
    raw.remove_prefix(1);
  }
  return raw;
}

} // namespace

json::json() {
  // One shared `null`, parsed once (thread-safe static initialisation);
  // a json is immutable, so sharing it is safe.
  static const std::shared_ptr<const state> null = [] {
    const char *err = nullptr;
    return std::shared_ptr<const state>(
        make_state("null", oids::jsonb, nullptr, err));
  }();
  _s = null;
}

json json::parse(std::string_view text, oid_t type) {
  const char *err = nullptr;
  auto s = make_state(text, type, nullptr, err);
  if (!s) {
    throw data_error(std::string("malformed JSON: ") + err);
  }
  return json(std::move(s));
}

simdjson::dom::element json::root() const noexcept { return _s->doc.root(); }

std::string_view json::text() const noexcept {
  return {_s->text.data(), _s->text.size()};
}

std::string json::dump() const { return simdjson::minify(root()); }

oid_t json::type() const noexcept { return _s->type; }

json codec<json>::decode(const field &f) {
  std::string_view text = json_bytes(f, "uvpg::json wants json or jsonb");
  const char *err = nullptr;
  auto s = make_state(text, f.type(), f.context(), err);
  if (!s) {
    std::string v(text.substr(0, 64));
    throw data_error(
        "malformed " + std::string(f.type() == oids::json ? "json" : "jsonb") +
        " value in column \"" + std::string(f.name()) + "\": " + err + ": \"" +
        v + (text.size() > 64 ? "...\"" : "\""));
  }
  return json(std::move(s));
}

void codec<json>::encode(const json &v, encoded &out) {
  std::string_view t = v.text();
  out.bytes.assign(t.data(), t.size());
  out.type = v.type();
  out.binary = false;
}

json_text codec<json_text>::decode(const field &f) {
  std::string_view text = json_bytes(f, "uvpg::json_text wants json or jsonb");
  return json_text{std::string(text), f.type()};
}

void codec<json_text>::encode(const json_text &v, encoded &out) {
  out.bytes = v.text;
  out.type = v.type;
  out.binary = false;
}

} // namespace uvpg
