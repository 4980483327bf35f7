"""Writes PyTorch reference fixtures for the seed models (not run by CI).

Run with Debian's PyTorch (CPU):  apt-get install python3-torch && /usr/bin/python3 scripts/torch/seed_models.py

- test/fixtures/nadaraya_watson.json: d2l §10.2.4 exactly as the book writes it (torch.manual_seed(0)): data,
  initial w, loss per epoch and the learned w.
- test/fixtures/cls_mlp.json: the masked-token MLP (Linear(10,100) -> ReLU -> BatchNorm1d(100) -> Linear(100,26),
  CrossEntropyLoss, Adam(lr=1e-3, weight_decay=1e-4), batches of 10): initial state_dict, the batch order of
  3 epochs, every step's loss and the final state_dict; plus 200-epoch training accuracies over three seeds,
  which show what this setup reaches in PyTorch itself.
"""
import json
import pathlib

import torch
from torch import nn

OUT = pathlib.Path(__file__).resolve().parents[2] / "test" / "fixtures"


def tolist(t):
    return [round(v, 9) for v in t.detach().reshape(-1).tolist()]


class NWKernelRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.rand((1,), requires_grad=True))

    def forward(self, queries, keys, values):
        queries = queries.repeat_interleave(keys.shape[1]).reshape((-1, keys.shape[1]))
        self.attention_weights = nn.functional.softmax(-((queries - keys) * self.w) ** 2 / 2, dim=1)
        return torch.bmm(self.attention_weights.unsqueeze(1), values.unsqueeze(-1)).reshape(-1)


def nadaraya_watson():
    torch.manual_seed(0)
    n_train = 50
    x_train, _ = torch.sort(torch.rand(n_train) * 5)
    y_train = 2 * torch.sin(x_train) + x_train**0.8 + torch.normal(0.0, 0.5, (n_train,))
    net = NWKernelRegression()
    w0 = float(net.w)
    keep = (1 - torch.eye(n_train)).type(torch.bool)
    keys = x_train.repeat((n_train, 1))[keep].reshape((n_train, -1))
    values = y_train.repeat((n_train, 1))[keep].reshape((n_train, -1))
    loss = nn.MSELoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=0.5)
    losses = []
    for _ in range(5):
        trainer.zero_grad()
        l = loss(net(x_train, keys, values), y_train)
        l.sum().backward()
        trainer.step()
        losses.append(float(l.sum()))
    return {"x_train": tolist(x_train), "y_train": tolist(y_train), "w0": w0, "losses": losses, "w": float(net.w)}


def masked_tokens():
    data = "ABCDEFGHIGKLMNOPQRSTUVWXYZ"
    xs, ys = [], []
    for c in data:
        start, k = data.index(c), 0
        while start + 10 * (k + 1) <= len(data):
            w = data[start + 10 * k : start + 10 * (k + 1)]
            for z in w:
                x = [0] * 10
                for t in w:
                    if t != z:
                        x[w.index(t)] = data.index(t)
                x[w.index(z)] = 27
                xs.append(x)
                ys.append(data.index(z))
            k += 1
    return torch.tensor(xs, dtype=torch.float32), torch.tensor(ys)


def make_mlp():
    return nn.Sequential(nn.Linear(10, 100), nn.ReLU(), nn.BatchNorm1d(100), nn.Linear(100, 26))


def state(net):
    return {k: tolist(v) for k, v in net.state_dict().items() if k != "2.num_batches_tracked"}


def train(net, X, Y, epochs, record=None):
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    lossf = nn.CrossEntropyLoss()
    acc = 0.0
    for _ in range(epochs):
        perm = torch.randperm(len(Y))
        correct = 0
        for i in range(0, len(Y), 10):
            idx = perm[i : i + 10]
            out = net(X[idx])
            l = lossf(out, Y[idx])
            opt.zero_grad()
            l.backward()
            opt.step()
            correct += int((out.argmax(1) == Y[idx]).sum())
            if record is not None:
                record["batches"].append(idx.tolist())
                record["losses"].append(float(l))
        acc = correct / len(Y)
    return acc


def cls_mlp():
    X, Y = masked_tokens()
    torch.manual_seed(0)
    net = make_mlp()
    record = {"initial": state(net), "batches": [], "losses": []}
    train(net, X, Y, 3, record)
    record["final"] = state(net)
    record["accuracy_200_epochs"] = []
    for seed in range(3):
        torch.manual_seed(seed)
        record["accuracy_200_epochs"].append(train(make_mlp(), X, Y, 200))
    return record


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "nadaraya_watson.json").write_text(json.dumps(nadaraya_watson()) + "\n")
    (OUT / "cls_mlp.json").write_text(json.dumps(cls_mlp()) + "\n")
    print("wrote", OUT / "nadaraya_watson.json", OUT / "cls_mlp.json")
