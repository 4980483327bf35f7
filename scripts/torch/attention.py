"""Writes PyTorch reference fixtures for the attention modules, built exactly as d2l builds them (not run by CI).

Run with Debian's PyTorch (CPU):  apt-get install python3-torch && /usr/bin/python3 scripts/torch/attention.py

test/fixtures/attention.json holds, per module: its configuration, the inputs, the state_dict (names as PyTorch's),
the output and attention weights in eval mode (dropout off), and the gradients of sum(output * dy) with respect to
the inputs and every parameter. Also d2l's positional-encoding matrix P for max_len 60, num_hiddens 32.
Code follows d2l (PyTorch edition): §11.3 masked_softmax, AdditiveAttention, DotProductAttention; §11.5
MultiHeadAttention; §11.6 PositionalEncoding.
"""
import json
import math
import pathlib

import torch
from torch import nn

OUT = pathlib.Path(__file__).resolve().parents[2] / "test" / "fixtures" / "attention.json"


def masked_softmax(X, valid_lens):
    def _sequence_mask(X, valid_len, value=0):
        maxlen = X.size(1)
        mask = torch.arange((maxlen), dtype=torch.float32, device=X.device)[None, :] < valid_len[:, None]
        X[~mask] = value
        return X

    if valid_lens is None:
        return nn.functional.softmax(X, dim=-1)
    shape = X.shape
    if valid_lens.dim() == 1:
        valid_lens = torch.repeat_interleave(valid_lens, shape[1])
    else:
        valid_lens = valid_lens.reshape(-1)
    X = _sequence_mask(X.reshape(-1, shape[-1]), valid_lens, value=-1e6)
    return nn.functional.softmax(X.reshape(shape), dim=-1)


class AdditiveAttention(nn.Module):
    def __init__(self, key_size, query_size, num_hiddens, dropout):
        super().__init__()
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries, keys, values, valid_lens):
        queries, keys = self.W_q(queries), self.W_k(keys)
        features = torch.tanh(queries.unsqueeze(2) + keys.unsqueeze(1))
        scores = self.w_v(features).squeeze(-1)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)


class DotProductAttention(nn.Module):
    def __init__(self, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries, keys, values, valid_lens=None):
        d = queries.shape[-1]
        scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)


class MultiHeadAttention(nn.Module):
    def __init__(self, key_size, query_size, value_size, num_hiddens, num_heads, dropout, bias=False):
        super().__init__()
        self.num_heads = num_heads
        self.attention = DotProductAttention(dropout)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=bias)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=bias)
        self.W_v = nn.Linear(value_size, num_hiddens, bias=bias)
        self.W_o = nn.Linear(num_hiddens, num_hiddens, bias=bias)

    def forward(self, queries, keys, values, valid_lens):
        queries = self.transpose_qkv(self.W_q(queries))
        keys = self.transpose_qkv(self.W_k(keys))
        values = self.transpose_qkv(self.W_v(values))
        if valid_lens is not None:
            valid_lens = torch.repeat_interleave(valid_lens, repeats=self.num_heads, dim=0)
        output = self.attention(queries, keys, values, valid_lens)
        return self.W_o(self.transpose_output(output))

    def transpose_qkv(self, X):
        X = X.reshape(X.shape[0], X.shape[1], self.num_heads, -1)
        X = X.permute(0, 2, 1, 3)
        return X.reshape(-1, X.shape[2], X.shape[3])

    def transpose_output(self, X):
        X = X.reshape(-1, self.num_heads, X.shape[1], X.shape[2])
        X = X.permute(0, 2, 1, 3)
        return X.reshape(X.shape[0], X.shape[1], -1)


def positional_encoding(max_len, num_hiddens):
    P = torch.zeros((1, max_len, num_hiddens))
    X = torch.arange(max_len, dtype=torch.float32).reshape(-1, 1) / torch.pow(
        10000, torch.arange(0, num_hiddens, 2, dtype=torch.float32) / num_hiddens
    )
    P[:, :, 0::2] = torch.sin(X)
    P[:, :, 1::2] = torch.cos(X)
    return P


def flat(t):
    return [round(v, 8) for v in t.detach().reshape(-1).tolist()]


def case(module, inputs, valid_lens, config):
    module.eval()
    tensors = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    out = module(tensors["queries"], tensors["keys"], tensors["values"], valid_lens)
    dy = torch.randn(out.shape)
    (out * dy).sum().backward()
    grads = {k: flat(v.grad) for k, v in tensors.items()}
    grads.update({k: flat(p.grad) for k, p in module.named_parameters()})
    weights = module.attention.attention_weights if hasattr(module, "attention") else module.attention_weights
    return {
        "config": config,
        "inputs": {k: {"shape": list(v.shape), "data": flat(v)} for k, v in inputs.items()},
        "valid_lens": None if valid_lens is None else {"shape": list(valid_lens.shape), "data": valid_lens.reshape(-1).tolist()},
        "state_dict": {k: flat(v) for k, v in module.state_dict().items()},
        "output": {"shape": list(out.shape), "data": flat(out)},
        "attention_weights": {"shape": list(weights.shape), "data": flat(weights)},
        "dy": flat(dy),
        "grads": grads,
    }


def main():
    torch.manual_seed(0)
    fixtures = {}
    B, L, S = 2, 3, 5
    q = torch.randn(B, L, 6)
    k = torch.randn(B, S, 4)
    v = torch.randn(B, S, 7)
    fixtures["additive_attention"] = case(
        AdditiveAttention(key_size=4, query_size=6, num_hiddens=8, dropout=0.1),
        {"queries": q, "keys": k, "values": v},
        torch.tensor([2, 5]),
        {"keySize": 4, "querySize": 6, "numHiddens": 8, "dropout": 0.1},
    )
    qd = torch.randn(B, L, 4)
    fixtures["dot_product_attention"] = case(
        DotProductAttention(dropout=0.1),
        {"queries": qd, "keys": k, "values": v},
        torch.tensor([[1, 3, 5], [2, 0, 4]]),
        {"dropout": 0.1},
    )
    fixtures["multi_head_attention"] = case(
        MultiHeadAttention(key_size=4, query_size=6, value_size=7, num_hiddens=8, num_heads=2, dropout=0.1),
        {"queries": q, "keys": k, "values": v},
        torch.tensor([3, 4]),
        {"keySize": 4, "querySize": 6, "valueSize": 7, "numHiddens": 8, "numHeads": 2, "dropout": 0.1, "bias": False},
    )
    fixtures["multi_head_attention_bias"] = case(
        MultiHeadAttention(key_size=4, query_size=6, value_size=7, num_hiddens=8, num_heads=4, dropout=0.0, bias=True),
        {"queries": q, "keys": k, "values": v},
        None,
        {"keySize": 4, "querySize": 6, "valueSize": 7, "numHiddens": 8, "numHeads": 4, "dropout": 0.0, "bias": True},
    )
    P = positional_encoding(60, 32)
    fixtures["positional_encoding"] = {"maxLen": 60, "numHiddens": 32, "P": flat(P)}
    OUT.write_text(json.dumps(fixtures) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
