#!/usr/bin/python3
"""Generates data/models/tiny-flow-embedder/: a tiny feature-extraction model
in the layout @huggingface/transformers loads from a local directory
(config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx).

It exists so the `text-embedding` detector's pipeline (tokenise -> ONNX ->
mean pooling -> normalise -> kNN) can be tested without downloading anything.
Its weights are random (seeded): it carries NO semantic knowledge and no
quality claim is made for it. Point the detector at a real exported model
(e.g. all-MiniLM-L6-v2 with onnx/model.onnx) for meaningful embeddings.

The vocabulary is a WordPiece vocabulary over the words of flow text as
nadir writes it ("protocol_type=tcp service=http src_bytes=215 ..."): the
special tokens, single characters and '##' continuations (so every string
tokenises), plus the word pieces of the NSL-KDD and CIC-IDS2017 feature names
and the NSL-KDD categorical values read from the vendored data.

The graph: last_hidden_state = tanh(Emb[input_ids] @ W + b + Pos[position]).

Run from the repository root with Debian's python3 (python3-onnx):
    /usr/bin/python3 scripts/make_tiny_embedding_model.py
"""
import gzip
import json
import os
import re

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "data", "models", "tiny-flow-embedder")
DIM = 32
MAX_POS = 512
SEED = 20240601


def words_from_data():
    words = set()
    with gzip.open(os.path.join(ROOT, "data", "nsl-kdd", "KDDTrain+_20Percent.txt.gz"), "rt") as f:
        for i, line in enumerate(f):
            parts = line.strip().split(",")
            for v in parts[1:4]:
                words.add(v.lower())
            if i > 30000:
                break
    kdd_names = (
        "duration protocol_type service flag src_bytes dst_bytes land wrong_fragment urgent hot "
        "num_failed_logins logged_in num_compromised root_shell su_attempted num_root num_file_creations "
        "num_shells num_access_files num_outbound_cmds is_host_login is_guest_login count srv_count "
        "serror_rate srv_serror_rate rerror_rate srv_rerror_rate same_srv_rate diff_srv_rate "
        "srv_diff_host_rate dst_host_count dst_host_srv_count dst_host_same_srv_rate dst_host_diff_srv_rate "
        "dst_host_same_src_port_rate dst_host_srv_diff_host_rate dst_host_serror_rate dst_host_srv_serror_rate "
        "dst_host_rerror_rate dst_host_srv_rerror_rate"
    ).split()
    names = list(kdd_names)
    with gzip.open(os.path.join(ROOT, "data", "cic-ids2017", "BENIGN_2500.csv.gz"), "rt") as f:
        names += f.readline().strip().split(",")
    for n in names:
        for w in re.split(r"[^A-Za-z0-9]+", n.lower()):
            if w:
                words.add(w)
    return words


def build_vocab():
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789") + list("=._-/:,;()<>[]+*!?\"'#%&@")
    vocab = list(specials)
    vocab += chars
    vocab += ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    for w in sorted(words_from_data()):
        if w not in vocab and not re.fullmatch(r"[^a-z0-9]+", w):
            vocab.append(w)
            # BertPreTokenizer splits on punctuation, so words never contain it.
    return {t: i for i, t in enumerate(vocab)}


def tokenizer_json(vocab):
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for t in special
        ],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [vocab["[CLS]"]], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [vocab["[SEP]"]], "tokens": ["[SEP]"]},
            },
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }


def model(vocab_size):
    rng = np.random.default_rng(SEED)
    emb = (rng.standard_normal((vocab_size, DIM)) * 0.5).astype(np.float32)
    pos = (rng.standard_normal((MAX_POS, DIM)) * 0.5).astype(np.float32)
    w = (rng.standard_normal((DIM, DIM)) / np.sqrt(DIM)).astype(np.float32)
    b = np.zeros(DIM, dtype=np.float32)
    inits = [
        numpy_helper.from_array(emb, "emb"),
        numpy_helper.from_array(pos, "pos"),
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(b, "b"),
        numpy_helper.from_array(np.array(1, dtype=np.int64), "one"),
        numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "idx1"),
    ]
    nodes = [
        helper.make_node("Gather", ["emb", "input_ids"], ["tok"], axis=0),
        # positions 0..seq-1 from the input's shape
        helper.make_node("Shape", ["input_ids"], ["shape"]),
        helper.make_node("Gather", ["shape", "idx1"], ["seq1"], axis=0),
        helper.make_node("Squeeze", ["seq1"], ["seq"]),
        helper.make_node("Range", ["zero", "seq", "one"], ["positions"]),
        helper.make_node("Gather", ["pos", "positions"], ["posv"], axis=0),
        helper.make_node("MatMul", ["tok", "w"], ["proj"]),
        helper.make_node("Add", ["proj", "b"], ["projb"]),
        helper.make_node("Add", ["projb", "posv"], ["pre"]),
        helper.make_node("Tanh", ["pre"], ["last_hidden_state"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_flow_embedder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", DIM])],
        inits,
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="nadir")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def main():
    vocab = build_vocab()
    os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
    with open(os.path.join(OUT, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(vocab), f, indent=1, sort_keys=False)
        f.write("\n")
    with open(os.path.join(OUT, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": MAX_POS,
                   "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
                   "mask_token": "[MASK]"}, f, indent=1)
        f.write("\n")
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump({"model_type": "bert", "architectures": ["BertModel"], "hidden_size": DIM,
                   "num_hidden_layers": 1, "num_attention_heads": 1, "vocab_size": len(vocab),
                   "max_position_embeddings": MAX_POS, "pad_token_id": 0,
                   "_comment": "nadir test model: random weights, no semantic quality (scripts/make_tiny_embedding_model.py)"},
                  f, indent=1)
        f.write("\n")
    onnx.save(model(len(vocab)), os.path.join(OUT, "onnx", "model.onnx"))
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(OUT) for n in ns)
    print(f"wrote {OUT}: vocab {len(vocab)}, dim {DIM}, {total} bytes")


if __name__ == "__main__":
    main()
