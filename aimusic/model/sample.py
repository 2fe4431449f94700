"""Fast inference: the trained LSTM stepped in NumPy, and nucleus sampling.

Weights are converted once at load. Every input embedding is folded into the first LSTM
layer (a table of gate pre-activations per token), so one step costs a few small
matrix-vector products: about a hundred microseconds, far below a PyTorch call per step.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .events import FEATURES


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


class NumpyMelodyStepper:
    """Step-by-step evaluation of :class:`~aimusic.model.network.MelodyLSTM` weights."""

    def __init__(self, state_dict: Mapping[str, np.ndarray], layers: int, hidden: int) -> None:
        # Arrays from the weights file; CPU tensors of a checkpoint convert the same way.
        sd = {k: np.asarray(v, dtype=np.float64) for k, v in state_dict.items()}
        self.layers, self.hidden = layers, hidden
        w0 = sd["lstm.weight_ih_l0"]
        tables, col = [], 0
        embs = [sd["prev_pitch.weight"], sd["prev_dur.weight"]] + [sd[f"features.{i}.weight"] for i in range(len(FEATURES))]
        for emb in embs:
            tables.append((emb @ w0[:, col:col + emb.shape[1]].T).astype(np.float32))
            col += emb.shape[1]
        self.tables = tables
        self.bias = [(sd[f"lstm.bias_ih_l{k}"] + sd[f"lstm.bias_hh_l{k}"]).astype(np.float32) for k in range(layers)]
        # Upper layers read [input h, own h] in one matrix-vector product.
        self.w_rec = [sd["lstm.weight_hh_l0"].astype(np.float32)] + [
            np.ascontiguousarray(np.concatenate([sd[f"lstm.weight_ih_l{k}"], sd[f"lstm.weight_hh_l{k}"]], axis=1),
                                 dtype=np.float32) for k in range(1, layers)]
        self.w_pitch = sd["pitch_head.weight"].astype(np.float32)
        self.b_pitch = sd["pitch_head.bias"].astype(np.float32)
        w_din = sd["dur_in.weight"]
        self.w_dur_h = w_din[:, :hidden].astype(np.float32)
        self.dur_pitch_table = (sd["dur_pitch.weight"] @ w_din[:, hidden:].T + sd["dur_in.bias"]).astype(np.float32)
        self.w_dur_out = sd["dur_out.weight"].astype(np.float32)
        self.b_dur_out = sd["dur_out.bias"].astype(np.float32)

    def initial_state(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Zero hidden and cell states, one per layer."""
        z = [np.zeros(self.hidden, np.float32) for _ in range(self.layers)]
        return z, [x.copy() for x in z]

    def step(self, prev_pitch: int, prev_dur: int, cond: tuple[int, ...],
             state: tuple[list[np.ndarray], list[np.ndarray]]) -> tuple[np.ndarray, tuple]:
        """Advance one event; return the pitch logits and the new state."""
        hs, cs = state
        x = self.tables[0][prev_pitch] + self.tables[1][prev_dur]
        for i, c in enumerate(cond):
            x = x + self.tables[2 + i][c]
        new_h, new_c = [], []
        inp = None
        H = self.hidden
        for k in range(self.layers):
            if k == 0:
                gates = x + self.bias[0] + self.w_rec[0] @ hs[0]
            else:
                gates = self.bias[k] + self.w_rec[k] @ np.concatenate((inp, hs[k]))
            sig = _sigmoid(gates)              # gate order i, f, g, o; g uses tanh below
            c_new = sig[H:2 * H] * cs[k] + sig[:H] * np.tanh(gates[2 * H:3 * H])
            h_new = sig[3 * H:] * np.tanh(c_new)
            new_h.append(h_new)
            new_c.append(c_new)
            inp = h_new
        return self.w_pitch @ inp + self.b_pitch, (new_h, new_c)

    def duration_logits(self, state: tuple, pitch: int) -> np.ndarray:
        """Duration logits for the event whose pitch token is ``pitch``."""
        h = state[0][-1]
        z = np.maximum(self.w_dur_h @ h + self.dur_pitch_table[pitch], 0.0)
        return self.w_dur_out @ z + self.b_dur_out


def nucleus_sample(logits: np.ndarray, u: float, *, temperature: float, top_p: float,
                   allowed: np.ndarray | None = None, keep: int | None = None) -> int:
    """Sample an index by inverse CDF with uniform ``u``, after temperature and top-p.

    ``allowed`` (boolean) removes choices before normalising; the nucleus keeps the most
    likely choices until their mass reaches ``top_p``, and always keeps index ``keep`` if it
    is allowed (the rest: nucleus sampling is there to cut unlikely pitches, and cutting a
    rare rest would only make the melody rest less than the network says). Deterministic
    given ``u``.
    """
    z = logits.astype(np.float64) / max(temperature, 1e-4)
    if allowed is not None:
        z = np.where(allowed, z, -np.inf)
    z = z - z.max()
    p = np.exp(z)
    p /= p.sum()
    order = np.argsort(-p, kind="stable")
    cum = np.cumsum(p[order])
    n = min(int(np.searchsorted(cum, top_p) + 1), len(p))
    chosen = order[:n]
    if keep is not None and p[keep] > 0 and keep not in chosen:
        chosen = np.append(chosen, keep)
    ps = p[chosen] / p[chosen].sum()
    i = int(np.searchsorted(np.cumsum(ps), u * (1 - 1e-12), side="right"))
    return int(chosen[min(i, len(chosen) - 1)])
