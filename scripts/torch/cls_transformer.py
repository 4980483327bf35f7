"""Writes the PyTorch reference fixture of ClsTransformer (not run by CI).

Run with Debian's PyTorch (CPU):  apt-get install python3-torch && /usr/bin/python3 scripts/torch/cls_transformer.py

The masked-token task of the seed notes solved with d2l's Transformer encoder (PyTorch edition, §11.7: PositionWiseFFN,
AddNorm, TransformerEncoderBlock, TransformerEncoder; MultiHeadAttention and the positional encoding from
attention.py), read out at the cls position by a dense layer. test/fixtures/cls_transformer.json holds:

- config: the architecture and training settings;
- initial: the state_dict after torch.manual_seed(0) (names as PyTorch's);
- batches, losses: the sample indices and the loss of the first 20 Adam steps from those weights;
- accuracy_200_epochs, epochs_to_99: per seed 0-2, training accuracy after 200 epochs and the first epoch reaching
  0.99 on the full data;
- heldout: per seed 0-2, held-out accuracy after training 200 epochs on 80% of the distinct inputs, for the MLP
  (seed_models.py) and ClsTransformer. PyTorch's own shuffle picks the split, so these are not the same splits as
  the TypeScript runs, only the same construction.
"""
import json
import math
import pathlib

import torch
from torch import nn

from attention import MultiHeadAttention, positional_encoding
from seed_models import make_mlp, masked_tokens

OUT = pathlib.Path(__file__).resolve().parents[2] / "test" / "fixtures" / "cls_transformer.json"
CLS_ID, NUM_CLASSES = 27, 26
CONFIG = {
    "num_hiddens": 32,
    "num_heads": 4,
    "ffn_num_hiddens": 64,
    "num_blks": 2,
    "dropout": 0.0,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "batch_size": 10,
}
STEPS = 20


class PositionalEncoding(nn.Module):
    def __init__(self, num_hiddens, dropout, max_len=1000):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.P = positional_encoding(max_len, num_hiddens)

    def forward(self, X):
        X = X + self.P[:, : X.shape[1], :].to(X.device)
        return self.dropout(X)


class PositionWiseFFN(nn.Module):
    # d2l builds the two layers with LazyLinear; explicit sizes give the same initialisation.
    def __init__(self, num_inputs, ffn_num_hiddens, ffn_num_outputs):
        super().__init__()
        self.dense1 = nn.Linear(num_inputs, ffn_num_hiddens)
        self.relu = nn.ReLU()
        self.dense2 = nn.Linear(ffn_num_hiddens, ffn_num_outputs)

    def forward(self, X):
        return self.dense2(self.relu(self.dense1(X)))


class AddNorm(nn.Module):
    def __init__(self, norm_shape, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.ln = nn.LayerNorm(norm_shape)

    def forward(self, X, Y):
        return self.ln(self.dropout(Y) + X)


class TransformerEncoderBlock(nn.Module):
    def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout, use_bias=False):
        super().__init__()
        self.attention = MultiHeadAttention(
            num_hiddens, num_hiddens, num_hiddens, num_hiddens, num_heads, dropout, use_bias
        )
        self.addnorm1 = AddNorm(num_hiddens, dropout)
        self.ffn = PositionWiseFFN(num_hiddens, ffn_num_hiddens, num_hiddens)
        self.addnorm2 = AddNorm(num_hiddens, dropout)

    def forward(self, X, valid_lens):
        Y = self.addnorm1(X, self.attention(X, X, X, valid_lens))
        return self.addnorm2(Y, self.ffn(Y))


class TransformerEncoder(nn.Module):
    def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout, use_bias=False):
        super().__init__()
        self.num_hiddens = num_hiddens
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blks = nn.Sequential()
        for i in range(num_blks):
            self.blks.add_module(
                "block" + str(i),
                TransformerEncoderBlock(num_hiddens, ffn_num_hiddens, num_heads, dropout, use_bias),
            )

    def forward(self, X, valid_lens):
        X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
        for blk in self.blks:
            X = blk(X, valid_lens)
        return X


class ClsTransformer(nn.Module):
    def __init__(self, num_hiddens=32, num_heads=4, ffn_num_hiddens=64, num_blks=2, dropout=0.0):
        super().__init__()
        self.encoder = TransformerEncoder(CLS_ID + 1, num_hiddens, ffn_num_hiddens, num_heads, num_blks, dropout)
        self.dense = nn.Linear(num_hiddens, NUM_CLASSES)

    def forward(self, X):
        tokens = X.long()
        h = self.encoder(tokens, None)
        cls = (tokens == CLS_ID).float().unsqueeze(-1)
        return self.dense((h * cls).sum(1))


def make_transformer():
    c = CONFIG
    return ClsTransformer(c["num_hiddens"], c["num_heads"], c["ffn_num_hiddens"], c["num_blks"], c["dropout"])


def tolist(t):
    return [round(v, 9) for v in t.detach().reshape(-1).tolist()]


def train(net, X, Y, epochs, record=None, X_test=None, Y_test=None):
    """Adam with weight decay, shuffled batches of 10; returns (training accuracies, held-out accuracies)."""
    opt = torch.optim.Adam(net.parameters(), lr=CONFIG["lr"], weight_decay=CONFIG["weight_decay"])
    lossf = nn.CrossEntropyLoss()
    accuracies, heldout = [], []
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(Y))
        correct = 0
        for i in range(0, len(Y), CONFIG["batch_size"]):
            idx = perm[i : i + CONFIG["batch_size"]]
            out = net(X[idx])
            l = lossf(out, Y[idx])
            opt.zero_grad()
            l.backward()
            opt.step()
            correct += int((out.argmax(1) == Y[idx]).sum())
            if record is not None and len(record["losses"]) < STEPS:
                record["batches"].append(idx.tolist())
                record["losses"].append(float(l))
        accuracies.append(correct / len(Y))
        if X_test is not None:
            net.eval()
            with torch.no_grad():
                heldout.append(float((net(X_test).argmax(1) == Y_test).float().mean()))
        if record is not None and len(record["losses"]) >= STEPS:
            break
    return accuracies, heldout


def split(X, Y, seed):
    """80/20 over the distinct inputs (a repeated input stays on one side); training keeps the duplicates."""
    groups = {}
    for i, row in enumerate(X.tolist()):
        groups.setdefault(tuple(row), []).append(i)
    groups = list(groups.values())
    order = torch.randperm(len(groups), generator=torch.Generator().manual_seed(1000 + seed)).tolist()
    cut = round(0.2 * len(groups))
    held = [groups[g][0] for g in order[:cut]]
    train_idx = sorted(i for g in order[cut:] for i in groups[g])
    return X[train_idx], Y[train_idx], X[held], Y[held]


def main():
    X, Y = masked_tokens()
    torch.manual_seed(0)
    net = make_transformer()
    initial = {k: tolist(v) for k, v in net.state_dict().items()}
    record = {"batches": [], "losses": []}
    train(net, X, Y, 1, record)
    out = {"config": CONFIG, "initial": initial, **record}

    out["accuracy_200_epochs"], out["epochs_to_99"] = [], []
    for seed in range(3):
        torch.manual_seed(seed)
        acc, _ = train(make_transformer(), X, Y, 200)
        out["accuracy_200_epochs"].append(acc[-1])
        out["epochs_to_99"].append(next((e + 1 for e, a in enumerate(acc) if a >= 0.99), None))
        print("seed", seed, "accuracy", acc[-1], "epochs to 0.99", out["epochs_to_99"][-1], flush=True)

    out["heldout"] = {"mlp": [], "cls_transformer": []}
    for seed in range(3):
        Xtr, Ytr, Xte, Yte = split(X, Y, seed)
        for name, make in (("mlp", make_mlp), ("cls_transformer", make_transformer)):
            torch.manual_seed(seed)
            acc, held = train(make(), Xtr, Ytr, 200, None, Xte, Yte)
            out["heldout"][name].append({"train_accuracy": acc[-1], "heldout_accuracy": held[-1]})
            print("seed", seed, name, "train", acc[-1], "held-out", held[-1], f"({len(Yte)} inputs)", flush=True)
    out["heldout"]["inputs"] = len(Yte)

    OUT.write_text(json.dumps(out) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
