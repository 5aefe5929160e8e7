// Private to the sql layer: the only header that names libpg_query's C types. Owns parse and scan
// results (RAII), walks any subtree generically through the protobuf-c descriptors, and reads the
// few node shapes the rules need.
#pragma once

#include <pg_query/pg_query.pb-c.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace datafix::sql::internal {

// The decoded tree lives in one arena: decoding a 1 MiB file allocates millions of small nodes,
// and freeing them one by one cost as much as parsing.
class TreeArena;
struct ParseTreeDeleter {
    std::shared_ptr<TreeArena> arena;  // owns every node; the deleter itself frees nothing
    void operator()(PgQuery__ParseResult* tree) const;
};
using ParseTree = std::unique_ptr<PgQuery__ParseResult, ParseTreeDeleter>;

// Where libpg_query stopped: its message and a 1-based character position (0 when unknown).
struct ParseFailure {
    std::string message;
    int cursor_position = 0;
};

struct ParseOutcome {
    ParseTree tree;
    std::optional<ParseFailure> failure;
};
ParseOutcome parse(const std::string& text);

struct Token {
    int start = 0;  // byte offsets, end exclusive
    int end = 0;
    int kind = 0;  // PgQuery__Token
    bool keyword = false;
    bool is_comment() const;
    bool is_literal() const;
};

struct ScanOutcome {
    std::vector<Token> tokens;
    std::optional<ParseFailure> failure;
};
ScanOutcome scan(const std::string& text);

// Visits `root` and every message below it, parents first, children in field order; `visit`
// returns false to skip the children of the message it was given. Null roots are ignored, and Node
// wrappers are seen through. Iterative: no input can make it overflow the stack.
using Visitor = std::function<bool(const ProtobufCMessage*)>;
void walk(const ProtobufCMessage* root, const Visitor& visit);

// The direct children of `message` in field order, Node wrappers seen through (null children
// included, as null).
void for_each_child(const ProtobufCMessage* message,
                    const std::function<void(const ProtobufCMessage*)>& child);

// Structural equality, ignoring source locations: `a = a` whatever the spacing. Recursive: callers
// pass trees whose depth analyze() has bounded (kMaxNesting).
bool same_tree(const ProtobufCMessage* a, const ProtobufCMessage* b);

// A hash consistent with same_tree (equal trees hash equal), in one pass over the tree.
std::size_t tree_hash(const ProtobufCMessage* root);

// The message a Node wraps (null for a null or empty node).
const ProtobufCMessage* unwrap(const PgQuery__Node* node);

template <class T>
const T* as(const ProtobufCMessage* message, const ProtobufCMessageDescriptor& descriptor) {
    if (message == nullptr || message->descriptor != &descriptor) {
        return nullptr;
    }
    return reinterpret_cast<const T*>(message);
}

// Text of a String node, empty for anything else.
std::string string_value(const PgQuery__Node* node);

// "schema.table" or "table" as written.
std::string qualified_name(const PgQuery__RangeVar& relation);

// Packs a one-statement tree and deparses it back to SQL; throws datafix::Error(internal) when
// libpg_query cannot.
std::string deparse(int32_t version, PgQuery__Node* statement);

}  // namespace datafix::sql::internal
