// A tiny byte-level BPE vocabulary for unit tests, small enough to work out every expected id by
// hand (the expectations were also confirmed with Hugging Face tokenizers once).
#pragma once

#include "tokenizer/tokenizer_spec.h"

namespace cipherlora::test {

// ids:  0 <|endoftext|>  1 <|im_start|>  2 <|im_end|>   (control)
//       3 <x>  4 <x>>                                   (user-defined)
//       5 a  6 b  7 c  8 Ġ(' ')  9 Ċ('\n')  10 1  11 2  12 <  13 >  14 |
//       15 bc  16 ab  17 abc  18 Ġa  19 ĠĠ  20 aa  21 Ã(0xC3)  22 ©(0xA9)  23 Ã©("é")  24 x
// merges by rank: 0 "b c"  1 "a b"  2 "ab c"  3 "Ġ a"  4 "Ġ Ġ"  5 "a a"  6 "Ã ©"
inline TokenizerSpec hand_spec(const char* pre = "smollm") {
  TokenizerSpec spec;
  spec.tokens = {"<|endoftext|>",
                 "<|im_start|>",
                 "<|im_end|>",
                 "<x>",
                 "<x>>",
                 "a",
                 "b",
                 "c",
                 "Ġ",
                 "Ċ",
                 "1",
                 "2",
                 "<",
                 ">",
                 "|",
                 "bc",
                 "ab",
                 "abc",
                 "Ġa",
                 "ĠĠ",
                 "aa",
                 "Ã",
                 "©",
                 "Ã©",
                 "x"};
  spec.token_types.assign(spec.tokens.size(), kTokenNormal);
  spec.token_types[0] = spec.token_types[1] = spec.token_types[2] = kTokenControl;
  spec.token_types[3] = spec.token_types[4] = kTokenUserDefined;
  spec.merges = {"b c", "a b", "ab c", "Ġ a", "Ġ Ġ", "a a", "Ã ©"};
  spec.pre = pre;
  spec.bos_id = 1;
  spec.eos_id = 2;
  spec.unk_id = 0;
  spec.pad_id = 2;
  spec.special_tokens = special_tokens_from_types(spec);
  return spec;
}

}  // namespace cipherlora::test
