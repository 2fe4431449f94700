"""The melody network: an LSTM decoder over note events, conditioned at every step.

At step t the input is the previous event (pitch token, duration token) plus the
conditioning features of event t (chord, bar position, meter, style, mode, ending). The
LSTM state feeds a pitch head; a duration head then sees the state *and* the pitch, so
p(event) = p(pitch) * p(duration | pitch) is a proper distribution over the joint event
space and bits per note can be computed exactly.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .events import BOS_DUR, BOS_PITCH, FEATURE_SIZES, FEATURES, N_DUR, N_PITCH


@dataclass
class MelodyConfig:
    """Sizes of the network; stored in the checkpoint so inference can rebuild it."""

    hidden: int = 256
    layers: int = 2
    pitch_emb: int = 48
    dur_emb: int = 24
    feature_emb: int = 12
    dur_hidden: int = 128
    dropout: float = 0.2

    def to_dict(self) -> dict:
        """Plain dict of the sizes."""
        return asdict(self)


class MelodyLSTM(nn.Module):
    """Conditioned LSTM over (pitch, duration) events; see the module docstring."""

    def __init__(self, config: MelodyConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.prev_pitch = nn.Embedding(N_PITCH + 1, c.pitch_emb)      # + BOS
        self.prev_dur = nn.Embedding(N_DUR + 1, c.dur_emb)
        self.features = nn.ModuleList(nn.Embedding(FEATURE_SIZES[f], c.feature_emb) for f in FEATURES)
        n_in = c.pitch_emb + c.dur_emb + c.feature_emb * len(FEATURES)
        self.lstm = nn.LSTM(n_in, c.hidden, num_layers=c.layers, batch_first=True,
                            dropout=c.dropout if c.layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.pitch_head = nn.Linear(c.hidden, N_PITCH)
        self.dur_pitch = nn.Embedding(N_PITCH, c.pitch_emb)
        self.dur_in = nn.Linear(c.hidden + c.pitch_emb, c.dur_hidden)
        self.dur_out = nn.Linear(c.dur_hidden, N_DUR)

    def inputs(self, pitch: torch.Tensor, dur: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Step inputs from targets shifted right (BOS first) and per-step features."""
        prev_p = torch.cat([torch.full_like(pitch[:, :1], BOS_PITCH), pitch[:, :-1]], dim=1)
        prev_d = torch.cat([torch.full_like(dur[:, :1], BOS_DUR), dur[:, :-1]], dim=1)
        parts = [self.prev_pitch(prev_p), self.prev_dur(prev_d)]
        parts += [emb(cond[..., i]) for i, emb in enumerate(self.features)]
        return torch.cat(parts, dim=-1)

    def forward(self, pitch: torch.Tensor, dur: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pitch logits ``[B, T, N_PITCH]`` and duration logits given the true pitch ``[B, T, N_DUR]``."""
        h, _ = self.lstm(self.inputs(pitch, dur, cond))
        h = self.drop(h)
        pitch_logits = self.pitch_head(h)
        dur_logits = self.dur_out(torch.relu(self.dur_in(torch.cat([h, self.dur_pitch(pitch)], dim=-1))))
        return pitch_logits, dur_logits

    def event_log_probs(self, pitch: torch.Tensor, dur: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Natural-log probability of every true event, ``[B, T]``."""
        pl, dl = self(pitch, dur, cond)
        lp = torch.log_softmax(pl, -1).gather(-1, pitch.unsqueeze(-1)).squeeze(-1)
        ld = torch.log_softmax(dl, -1).gather(-1, dur.unsqueeze(-1)).squeeze(-1)
        return lp + ld


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
