"""Writes the checkpoint fixtures: PyTorch's weights for us, and ours checked in PyTorch (not run by CI).

Run with Debian's PyTorch (CPU) from the repository root, after npm ci:
    apt-get install python3-torch && /usr/bin/python3 scripts/torch/checkpoint.py

A small d2l Transformer (§11.7, d2l 0.17 §10.7): TransformerEncoder from cls_transformer.py, and the decoder here,
with the state_dict names of d2l's classes, which are the names src/models/transformer.ts gives its tensors.
1. PyTorch initialises it (torch.manual_seed(0)) and writes a checkpoint folder as src/train/checkpoint_files.ts
   describes it, test/fixtures/checkpoint/torch/: model.safetensors (written by hand from the format's spec,
   https://github.com/huggingface/safetensors: 8-byte little-endian header length, JSON header padded with spaces
   to a multiple of 8, then the raw little-endian float32 data; Debian has no safetensors package), vocab.json and
   config.json; and test/fixtures/checkpoint/forward.json: the inputs and logits of one forward pass in eval mode.
2. scripts/torch/checkpoint_ours.ts loads that folder with our loadModel and writes the model's weights back with our
   encoder, test/fixtures/checkpoint/ours.safetensors.
3. This script reads ours.safetensors (checking the format's rules), loads it into a fresh twin with
   load_state_dict(strict=True), checks every tensor and the logits equal PyTorch's own, and records the file's
   SHA-256 in forward.json; test/checkpoint_torch.test.ts re-encodes the same weights and finds that file byte for
   byte.

One departure from d2l: its decoder blocks mask the self-attention causally only in training mode (`self.training`)
and attend to every target position in an eval-mode forward of a whole sequence; ours is causal in both, so that
forward equals decoding token by token. The twin here is causal in both too.
"""
import hashlib
import json
import math
import pathlib
import struct
import subprocess

import torch
from torch import nn

from attention import MultiHeadAttention
from cls_transformer import AddNorm, PositionalEncoding, PositionWiseFFN, TransformerEncoder

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "test" / "fixtures" / "checkpoint"
CONFIG = {
    "model": "transformer",
    "numSteps": 5,
    "numHiddens": 8,
    "numBlks": 2,
    "dropout": 0.1,
    "ffnNumHiddens": 16,
    "numHeads": 2,
}
SPECIALS = ["<unk>", "<pad>", "<bos>", "<eos>"]
SRC = SPECIALS + ["go", ".", "i", "lost", "he", "'s", "calm", "won"]
TGT = SPECIALS + ["va", "!", "j'ai", "perdu", ".", "il", "est", "calme", "gagné", "été"]


class TransformerDecoderBlock(nn.Module):
    def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout, i):
        super().__init__()
        self.i = i
        self.attention1 = MultiHeadAttention(num_hiddens, num_hiddens, num_hiddens, num_hiddens, num_heads, dropout)
        self.addnorm1 = AddNorm(num_hiddens, dropout)
        self.attention2 = MultiHeadAttention(num_hiddens, num_hiddens, num_hiddens, num_hiddens, num_heads, dropout)
        self.addnorm2 = AddNorm(num_hiddens, dropout)
        self.ffn = PositionWiseFFN(num_hiddens, ffn_num_hiddens, num_hiddens)
        self.addnorm3 = AddNorm(num_hiddens, dropout)

    def forward(self, X, state):
        enc_outputs, enc_valid_lens = state[0], state[1]
        key_values = X if state[2][self.i] is None else torch.cat((state[2][self.i], X), dim=1)
        state[2][self.i] = key_values
        batch_size, num_steps, _ = X.shape
        # Causal in eval mode too (see the docstring); d2l: `if self.training: … else: dec_valid_lens = None`.
        dec_valid_lens = torch.arange(1, num_steps + 1).repeat(batch_size, 1) if num_steps > 1 else None
        Y = self.addnorm1(X, self.attention1(X, key_values, key_values, dec_valid_lens))
        Z = self.addnorm2(Y, self.attention2(Y, enc_outputs, enc_outputs, enc_valid_lens))
        return self.addnorm3(Z, self.ffn(Z)), state


class TransformerDecoder(nn.Module):
    def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout):
        super().__init__()
        self.num_hiddens = num_hiddens
        self.num_blks = num_blks
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blks = nn.Sequential()
        for i in range(num_blks):
            self.blks.add_module(
                "block" + str(i), TransformerDecoderBlock(num_hiddens, ffn_num_hiddens, num_heads, dropout, i)
            )
        # d2l's LazyLinear, with its size given.
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def init_state(self, enc_outputs, enc_valid_lens):
        return [enc_outputs, enc_valid_lens, [None] * self.num_blks]

    def forward(self, X, state):
        X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
        for blk in self.blks:
            X, state = blk(X, state)
        return self.dense(X), state


class EncoderDecoder(nn.Module):
    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, enc_X, dec_X, enc_valid_lens):
        enc_outputs = self.encoder(enc_X, enc_valid_lens)
        return self.decoder(dec_X, self.decoder.init_state(enc_outputs, enc_valid_lens))[0]


def make_transformer():
    c = CONFIG
    args = (c["numHiddens"], c["ffnNumHiddens"], c["numHeads"], c["numBlks"], c["dropout"])
    return EncoderDecoder(TransformerEncoder(len(SRC), *args), TransformerDecoder(len(TGT), *args))


def write_safetensors(path, state_dict, metadata):
    header, data, offset = {"__metadata__": metadata}, [], 0
    for name, t in state_dict.items():
        values = t.detach().to(torch.float32).reshape(-1).tolist()
        data.append(struct.pack(f"<{len(values)}f", *values))
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + 4 * len(values)]}
        offset += 4 * len(values)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - (8 + len(head)) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(data))


def read_safetensors(path):
    """The tensors of an F32 safetensors file, checking the spec: header bounds, dtypes, shapes, dense offsets."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert 8 + n <= len(raw), "header runs past the file"
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in metadata.values()), "__metadata__ must map strings to strings"
    buffer, at, tensors = raw[8 + n :], 0, {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, end = e["data_offsets"]
        count = math.prod(e["shape"])
        assert e["dtype"] == "F32" and begin == at and end - begin == 4 * count, name
        tensors[name] = torch.tensor(struct.unpack(f"<{count}f", buffer[begin:end])).reshape(e["shape"])
        at = end
    assert at == len(buffer), "bytes after the last tensor"
    return {name: tensors[name] for name in header}, metadata


def as_json(t):
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def main():
    torch.manual_seed(0)
    net = make_transformer().eval()
    torch_dir = OUT / "torch"
    torch_dir.mkdir(parents=True, exist_ok=True)
    write_safetensors(torch_dir / "model.safetensors", net.state_dict(), {"format": "pt", "model": CONFIG["model"]})
    vocab = {"src": {"idxToToken": SRC}, "tgt": {"idxToToken": TGT}}
    (torch_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (torch_dir / "config.json").write_text(json.dumps(CONFIG, indent=2) + "\n")

    # "i lost ." and "he 's calm ." padded to numSteps; <bos> + a shifted target.
    enc_X = torch.tensor([[6, 7, 5, 3, 1], [8, 9, 10, 5, 3]])
    enc_valid_lens = torch.tensor([4, 5])
    dec_X = torch.tensor([[2, 6, 7, 8], [2, 9, 10, 11]])
    with torch.no_grad():
        logits = net(enc_X, dec_X, enc_valid_lens)
    fixture = {
        "encX": as_json(enc_X),
        "decX": as_json(dec_X),
        "encValidLens": enc_valid_lens.tolist(),
        "logits": as_json(logits),
    }

    subprocess.run(["npx", "vite-node", "scripts/torch/checkpoint_ours.ts"], cwd=ROOT, check=True)
    ours = OUT / "ours.safetensors"
    tensors, metadata = read_safetensors(ours)
    twin = make_transformer().eval()
    twin.load_state_dict(tensors, strict=True)
    for name, t in net.state_dict().items():
        assert torch.equal(twin.state_dict()[name], t), name
    with torch.no_grad():
        assert torch.equal(twin(enc_X, dec_X, enc_valid_lens), logits)
    fixture["ours"] = {
        "file": ours.name,
        "sha256": hashlib.sha256(ours.read_bytes()).hexdigest(),
        "metadata": metadata,
        "loadStateDictStrict": True,
    }
    (OUT / "forward.json").write_text(json.dumps(fixture) + "\n")
    print("wrote", torch_dir, "and", OUT / "forward.json", f"({ours.name} loads with strict=True)")


if __name__ == "__main__":
    main()
