"""A character-level language model in the style of the PyTorch examples' word-language-model
(github.com/pytorch/examples, BSD-3-Clause) and char-rnn tutorials: embedding, a 2-layer LSTM or
GRU with dropout between layers, a linear decoder, truncated backpropagation through time with
the hidden state detached between batches, gradient clipping, Adam, and greedy sampling. Written
for these tests (not a copy). Dropout is 0 so both frameworks see the same computation (their
random streams differ)."""

import torch
import torch.nn as nn
import torch.nn.functional as F

TEXT = ("the quick brown fox jumps over the lazy dog. " * 6
        + "pack my box with five dozen liquor jugs! ") * 2


class CharRNN(nn.Module):
    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.0):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout, batch_first=True)
        self.decoder = nn.Linear(nhid, ntoken)
        self.rnn_type, self.nhid, self.nlayers = rnn_type, nhid, nlayers
        self.init_weights()

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        return F.log_softmax(decoded, dim=-1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        return weight.new_zeros(self.nlayers, bsz, self.nhid)


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).contiguous()


CHARS = sorted(set(TEXT))


def build(cell="LSTM"):
    return CharRNN(cell, len(CHARS), 16, 24, 2, dropout=0.0)


def run(model, epochs=2, bptt=12, clip=0.25):
    stoi = {c: i for i, c in enumerate(CHARS)}
    data = torch.tensor([stoi[c] for c in TEXT], dtype=torch.long)
    train = batchify(data, 4)
    criterion = nn.NLLLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(epochs):
        model.train()
        hidden = model.init_hidden(4)
        for i in range(0, train.size(1) - 1, bptt):
            seq_len = min(bptt, train.size(1) - 1 - i)
            x = train[:, i:i + seq_len]
            y = train[:, i + 1:i + 1 + seq_len]
            hidden = repackage_hidden(hidden)
            model.zero_grad()
            output, hidden = model(x, hidden)
            loss = criterion(output.reshape(-1, len(CHARS)), y.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        hidden = model.init_hidden(1)
        inp = torch.tensor([[stoi["t"]]])
        out = []
        for _ in range(30):
            logp, hidden = model(inp, hidden)
            nxt = logp[0, -1].argmax().item()
            out.append(nxt)
            inp = torch.tensor([[nxt]])
    return {"losses": losses, "sample": "".join(CHARS[i] for i in out)}
