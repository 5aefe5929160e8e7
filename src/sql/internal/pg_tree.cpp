// libpg_query plumbing: parse, scan and deparse with owned results, and a descriptor-driven walk so
// that no rule can miss a subquery, CTE, RETURNING list or ON CONFLICT clause a hand-written
// traversal forgot.
#include "sql/internal/pg_tree.hpp"

#include <pg_query.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace datafix::sql::internal {

// A bump allocator for protobuf-c: blocks of at least kBlockBytes, freed all at once.
class TreeArena {
  public:
    static void* allocate(void* self, std::size_t size) {
        return static_cast<TreeArena*>(self)->allocate(size);
    }
    static void release(void*, void*) {}  // everything goes with the arena

    ProtobufCAllocator allocator() { return ProtobufCAllocator{&allocate, &release, this}; }

  private:
    // Blocks double from 4 KiB to 1 MiB: a statement's small tree takes one small block, a 1 MiB
    // file's a few large ones.
    static constexpr std::size_t kFirstBlockBytes = 4 * 1024;
    static constexpr std::size_t kLargestBlockBytes = 1024 * 1024;
    static constexpr std::size_t kAlignment = alignof(std::max_align_t);

    void* allocate(std::size_t size) {
        size = (size + kAlignment - 1) / kAlignment * kAlignment;
        if (blocks_.empty() || used_ + size > capacity_) {
            std::size_t next =
                blocks_.empty() ? kFirstBlockBytes : std::min(capacity_ * 2, kLargestBlockBytes);
            capacity_ = std::max(size, next);
            // Not value-initialized: protobuf-c initializes every message it unpacks.
            blocks_.push_back(
                std::make_unique_for_overwrite<std::max_align_t[]>(capacity_ / kAlignment + 1));
            used_ = 0;
        }
        void* out = reinterpret_cast<char*>(blocks_.back().get()) + used_;
        used_ += size;
        return out;
    }

    std::vector<std::unique_ptr<std::max_align_t[]>> blocks_;
    std::size_t used_ = 0;
    std::size_t capacity_ = 0;
};

void ParseTreeDeleter::operator()(PgQuery__ParseResult*) const {}

namespace {

ParseFailure failure_from(const PgQueryError& error) {
    return ParseFailure{error.message != nullptr ? error.message : "unknown error",
                        error.cursorpos};
}

const PgQuery__Node* as_node(const ProtobufCMessage* message) {
    return as<PgQuery__Node>(message, pg_query__node__descriptor);
}

// A Node is only a oneof wrapper: walks see what it wraps.
const ProtobufCMessage* skip_wrapper(const ProtobufCMessage* message) {
    if (const PgQuery__Node* node = as_node(message)) {
        return unwrap(node);
    }
    return message;
}

template <class T>
const T& member(const ProtobufCMessage* message, const ProtobufCFieldDescriptor& field) {
    return *reinterpret_cast<const T*>(reinterpret_cast<const char*>(message) + field.offset);
}

std::size_t repeated_count(const ProtobufCMessage* message, const ProtobufCFieldDescriptor& field) {
    return *reinterpret_cast<const std::size_t*>(reinterpret_cast<const char*>(message) +
                                                 field.quantifier_offset);
}

// A oneof member is present only when the case field names it.
bool present(const ProtobufCMessage* message, const ProtobufCFieldDescriptor& field) {
    if ((field.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) == 0) {
        return true;
    }
    return *reinterpret_cast<const uint32_t*>(reinterpret_cast<const char*>(message) +
                                              field.quantifier_offset) == field.id;
}

std::size_t scalar_size(ProtobufCType type) {
    switch (type) {
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
        case PROTOBUF_C_TYPE_DOUBLE:
            return 8;
        default:
            return 4;  // int32 family, float, enum and protobuf_c_boolean
    }
}

bool same_value(ProtobufCType type, const void* a, const void* b) {
    switch (type) {
        case PROTOBUF_C_TYPE_MESSAGE:
            return same_tree(*static_cast<const ProtobufCMessage* const*>(a),
                             *static_cast<const ProtobufCMessage* const*>(b));
        case PROTOBUF_C_TYPE_STRING: {
            const char* sa = *static_cast<const char* const*>(a);
            const char* sb = *static_cast<const char* const*>(b);
            return std::strcmp(sa != nullptr ? sa : "", sb != nullptr ? sb : "") == 0;
        }
        case PROTOBUF_C_TYPE_BYTES: {
            const auto* ba = static_cast<const ProtobufCBinaryData*>(a);
            const auto* bb = static_cast<const ProtobufCBinaryData*>(b);
            return ba->len == bb->len &&
                   (ba->len == 0 || std::memcmp(ba->data, bb->data, ba->len) == 0);
        }
        default:
            return std::memcmp(a, b, scalar_size(type)) == 0;
    }
}

std::size_t element_size(ProtobufCType type) {
    switch (type) {
        case PROTOBUF_C_TYPE_MESSAGE:
        case PROTOBUF_C_TYPE_STRING:
            return sizeof(void*);
        case PROTOBUF_C_TYPE_BYTES:
            return sizeof(ProtobufCBinaryData);
        default:
            return scalar_size(type);
    }
}

}  // namespace

ParseOutcome parse(const std::string& text) {
    PgQueryProtobufParseResult result = pg_query_parse_protobuf(text.c_str());
    ParseOutcome outcome;
    if (result.error != nullptr) {
        outcome.failure = failure_from(*result.error);
    } else {
        auto arena = std::make_shared<TreeArena>();
        ProtobufCAllocator allocator = arena->allocator();
        // protobuf-c keeps no reference to the allocator after unpacking.
        outcome.tree = ParseTree(pg_query__parse_result__unpack(
                                     &allocator, result.parse_tree.len,
                                     reinterpret_cast<const uint8_t*>(result.parse_tree.data)),
                                 ParseTreeDeleter{arena});
        if (!outcome.tree) {
            outcome.failure = ParseFailure{"the parse tree could not be decoded", 0};
        }
    }
    pg_query_free_protobuf_parse_result(result);
    return outcome;
}

bool Token::is_comment() const {
    return kind == PG_QUERY__TOKEN__SQL_COMMENT || kind == PG_QUERY__TOKEN__C_COMMENT;
}

bool Token::is_literal() const {
    switch (kind) {
        case PG_QUERY__TOKEN__SCONST:
        case PG_QUERY__TOKEN__USCONST:
        case PG_QUERY__TOKEN__FCONST:
        case PG_QUERY__TOKEN__ICONST:
        case PG_QUERY__TOKEN__BCONST:
        case PG_QUERY__TOKEN__XCONST:
            return true;
        default:
            return false;
    }
}

ScanOutcome scan(const std::string& text) {
    PgQueryScanResult result = pg_query_scan(text.c_str());
    ScanOutcome outcome;
    if (result.error != nullptr) {
        outcome.failure = failure_from(*result.error);
        pg_query_free_scan_result(result);
        return outcome;
    }
    TreeArena arena;
    ProtobufCAllocator allocator = arena.allocator();
    PgQuery__ScanResult* tokens = pg_query__scan_result__unpack(
        &allocator, result.pbuf.len, reinterpret_cast<const uint8_t*>(result.pbuf.data));
    if (tokens == nullptr) {
        outcome.failure = ParseFailure{"the token stream could not be decoded", 0};
    } else {
        outcome.tokens.reserve(tokens->n_tokens);
        for (std::size_t i = 0; i < tokens->n_tokens; ++i) {
            const PgQuery__ScanToken& t = *tokens->tokens[i];
            outcome.tokens.push_back(Token{t.start, t.end, t.token,
                                           t.keyword_kind != PG_QUERY__KEYWORD_KIND__NO_KEYWORD});
        }
    }
    pg_query_free_scan_result(result);
    return outcome;
}

void for_each_child(const ProtobufCMessage* message,
                    const std::function<void(const ProtobufCMessage*)>& child) {
    const ProtobufCMessageDescriptor& descriptor = *message->descriptor;
    for (unsigned i = 0; i < descriptor.n_fields; ++i) {
        const ProtobufCFieldDescriptor& field = descriptor.fields[i];
        if (field.type != PROTOBUF_C_TYPE_MESSAGE || !present(message, field)) {
            continue;
        }
        if (field.label == PROTOBUF_C_LABEL_REPEATED) {
            const auto* items = member<ProtobufCMessage* const*>(message, field);
            for (std::size_t k = 0; k < repeated_count(message, field); ++k) {
                child(skip_wrapper(items[k]));
            }
        } else {
            child(skip_wrapper(member<const ProtobufCMessage*>(message, field)));
        }
    }
}

void walk(const ProtobufCMessage* root, const Visitor& visit) {
    // An explicit stack, not recursion: the depth of a tree is the input's to choose.
    std::vector<const ProtobufCMessage*> pending{skip_wrapper(root)};
    std::vector<const ProtobufCMessage*> children;
    while (!pending.empty()) {
        const ProtobufCMessage* message = pending.back();
        pending.pop_back();
        if (message == nullptr || !visit(message)) {
            continue;
        }
        children.clear();
        for_each_child(message, [&children](const ProtobufCMessage* c) {
            if (c != nullptr) {
                children.push_back(c);
            }
        });
        // Reversed onto the stack, so that children are visited in field order, as written.
        pending.insert(pending.end(), children.rbegin(), children.rend());
    }
}

std::size_t tree_hash(const ProtobufCMessage* root) {
    std::size_t hash = 1469598103934665603ULL;
    auto mix = [&hash](std::size_t value) { hash = (hash ^ value) * 1099511628211ULL; };
    walk(root, [&mix](const ProtobufCMessage* m) {
        mix(reinterpret_cast<std::uintptr_t>(m->descriptor));
        const ProtobufCMessageDescriptor& descriptor = *m->descriptor;
        for (unsigned i = 0; i < descriptor.n_fields; ++i) {
            const ProtobufCFieldDescriptor& field = descriptor.fields[i];
            if (field.label == PROTOBUF_C_LABEL_REPEATED || !present(m, field) ||
                std::strcmp(field.name, "location") == 0) {
                continue;
            }
            const char* p = reinterpret_cast<const char*>(m) + field.offset;
            if (field.type == PROTOBUF_C_TYPE_STRING) {
                const char* text = *reinterpret_cast<const char* const*>(p);
                mix(std::hash<std::string_view>{}(text != nullptr ? text : ""));
            } else if (field.type != PROTOBUF_C_TYPE_MESSAGE &&
                       field.type != PROTOBUF_C_TYPE_BYTES) {
                std::size_t value = 0;
                std::memcpy(&value, p, std::min(sizeof(value), scalar_size(field.type)));
                mix(value);
            }
        }
        return true;
    });
    return hash;
}

bool same_tree(const ProtobufCMessage* a, const ProtobufCMessage* b) {
    if (a == nullptr || b == nullptr) {
        return a == b;
    }
    if (a->descriptor != b->descriptor) {
        return false;
    }
    const ProtobufCMessageDescriptor& descriptor = *a->descriptor;
    for (unsigned i = 0; i < descriptor.n_fields; ++i) {
        const ProtobufCFieldDescriptor& field = descriptor.fields[i];
        if (std::strcmp(field.name, "location") == 0) {
            continue;
        }
        if (present(a, field) != present(b, field)) {
            return false;
        }
        if (!present(a, field)) {
            continue;
        }
        const char* pa = reinterpret_cast<const char*>(a) + field.offset;
        const char* pb = reinterpret_cast<const char*>(b) + field.offset;
        if (field.label != PROTOBUF_C_LABEL_REPEATED) {
            if (!same_value(field.type, pa, pb)) {
                return false;
            }
            continue;
        }
        std::size_t count = repeated_count(a, field);
        if (count != repeated_count(b, field)) {
            return false;
        }
        const char* items_a = *reinterpret_cast<const char* const*>(pa);
        const char* items_b = *reinterpret_cast<const char* const*>(pb);
        std::size_t size = element_size(field.type);
        for (std::size_t k = 0; k < count; ++k) {
            if (!same_value(field.type, items_a + k * size, items_b + k * size)) {
                return false;
            }
        }
    }
    return true;
}

const ProtobufCMessage* unwrap(const PgQuery__Node* node) {
    if (node == nullptr || node->node_case == PG_QUERY__NODE__NODE__NOT_SET) {
        return nullptr;
    }
    // Every member of the oneof is a message pointer sharing the union's storage.
    return reinterpret_cast<const ProtobufCMessage*>(node->alias);
}

std::string string_value(const PgQuery__Node* node) {
    if (node == nullptr || node->node_case != PG_QUERY__NODE__NODE_STRING ||
        node->string->sval == nullptr) {
        return {};
    }
    return node->string->sval;
}

std::string qualified_name(const PgQuery__RangeVar& relation) {
    std::string name;
    if (relation.schemaname != nullptr && relation.schemaname[0] != '\0') {
        name = std::string(relation.schemaname) + ".";
    }
    return name + (relation.relname != nullptr ? relation.relname : "");
}

std::string deparse(int32_t version, PgQuery__Node* statement) {
    PgQuery__RawStmt raw = PG_QUERY__RAW_STMT__INIT;
    raw.stmt = statement;
    PgQuery__RawStmt* raws[] = {&raw};
    PgQuery__ParseResult tree = PG_QUERY__PARSE_RESULT__INIT;
    tree.version = version;
    tree.n_stmts = 1;
    tree.stmts = raws;
    std::string packed(pg_query__parse_result__get_packed_size(&tree), '\0');
    pg_query__parse_result__pack(&tree, reinterpret_cast<uint8_t*>(packed.data()));
    PgQueryProtobuf buffer{packed.size(), packed.data()};
    PgQueryDeparseResult result = pg_query_deparse_protobuf(buffer);
    if (result.error != nullptr) {
        std::string message = result.error->message != nullptr ? result.error->message : "";
        pg_query_free_deparse_result(result);
        throw Error(ErrorCode::internal, "cannot deparse a rewritten statement: " + message,
                    "report this as a bug in datafix, with the normalized statement");
    }
    std::string sql = result.query;
    pg_query_free_deparse_result(result);
    return sql;
}

}  // namespace datafix::sql::internal
