// Token embedding lookup: copies row ids[i] of the table to row i of the output. The table is a
// frozen base weight and token ids carry no gradient, so there is no backward.
//
//   embedding_forward(table, ids, x, n_tokens, hidden, vocab);   // x: [n_tokens, hidden]
#pragma once

#include <cstdint>

namespace cipherlora {

// table: [V, D], ids: [N], out: [N, D]. Throws Error if an id is outside [0, V).
void embedding_forward(const float* table, const int32_t* ids, float* out, int64_t N, int64_t D,
                       int64_t V);

}  // namespace cipherlora
