#include "tokenizer/tokenizer_spec.h"

namespace cipherlora {

std::vector<std::string> special_tokens_from_types(const TokenizerSpec& spec) {
  std::vector<std::string> special;
  for (size_t i = 0; i < spec.token_types.size() && i < spec.tokens.size(); ++i) {
    const int32_t type = spec.token_types[i];
    if ((type == kTokenControl || type == kTokenUserDefined) && !spec.tokens[i].empty()) {
      special.push_back(spec.tokens[i]);
    }
  }
  return special;
}

}  // namespace cipherlora
