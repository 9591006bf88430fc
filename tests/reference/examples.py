"""Independent Python construction of cipherlora's training examples, from the rules documented
in src/data/jsonl_dataset.h, using Hugging Face's tokenizer: token ids plus labels (-100 where no
loss is taken), ready for `model(input_ids, labels=labels)`."""
import json

IM_START_ASSISTANT = "<|im_start|>assistant\n"
IM_END = "<|im_end|>"

# Varied records: plain text, prompt/completion, chats with and without a system turn, Unicode,
# digits and whitespace runs.
RECORDS = [
    {"text": "The quick brown fox jumps over the lazy dog."},
    {"text": "Numbers: 3.14159, 1,000,000 and 2026-11-22.\n\n  Indented   line\twith tabs."},
    {"prompt": "What is the capital of France? ", "completion": "The capital of France is Paris."},
    {"prompt": "Translate to German: good morning\n", "completion": "Guten Morgen"},
    {"messages": [{"role": "user", "content": "Hi there!"},
                  {"role": "assistant", "content": "Hello! How can I help you today?"}]},
    {"messages": [{"role": "system", "content": "You answer in one word."},
                  {"role": "user", "content": "Colour of the sky?"},
                  {"role": "assistant", "content": "Blue."},
                  {"role": "user", "content": "And grass?"},
                  {"role": "assistant", "content": "Green."}]},
    {"text": "Ünïcödé: naïve café, 東京, Привет мир, مرحبا 🙂 — done."},
    {"prompt": "Total:  42 items at\n 7 sites", "completion": " =  294 in all, 1 2  3."},
]


def write_jsonl(path, records=RECORDS):
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def _targets_from_spans(tok, text, spans):
    enc = tok(text, return_offsets_mapping=True)
    ids = enc["input_ids"]
    labels = [i if any(a < e and b > s for (s, e) in spans) else -100
              for i, (a, b) in zip(ids, enc["offset_mapping"])]
    return ids, labels


def build_example(tok, record):
    """Returns (input_ids, labels) for one record."""
    eos = tok.eos_token_id
    if "messages" in record:
        text = tok.apply_chat_template(record["messages"], tokenize=False)
        spans, pos = [], 0
        for m in record["messages"]:
            if m["role"] != "assistant":
                continue
            marker = IM_START_ASSISTANT + m["content"] + IM_END
            at = text.index(marker, pos)
            begin = at + len(IM_START_ASSISTANT)
            spans.append((begin, begin + len(m["content"]) + len(IM_END)))
            pos = at + len(marker)
        return _targets_from_spans(tok, text, spans)
    if "prompt" in record:
        text = record["prompt"] + record["completion"]
        ids, labels = _targets_from_spans(tok, text, [(len(record["prompt"]), len(text))])
    else:
        ids, labels = _targets_from_spans(tok, record["text"], [(0, len(record["text"]))])
    if ids[-1] != eos:
        ids, labels = ids + [eos], labels + [eos]
    return ids, labels


def padded_batch(tok, records=RECORDS):
    """All records as one right-padded batch: (input_ids, labels, attention_mask) tensors."""
    import torch
    examples = [build_example(tok, r) for r in records]
    T = max(len(ids) for ids, _ in examples)
    pad = tok.pad_token_id
    ids = torch.tensor([i + [pad] * (T - len(i)) for i, _ in examples])
    labels = torch.tensor([l + [-100] * (T - len(l)) for _, l in examples])
    mask = torch.tensor([[1] * len(i) + [0] * (T - len(i)) for i, _ in examples])
    return ids, labels, mask
