"""Tail latency of a server that batches requests, under load: a queueing model. Numbers only.

The server (one per group of a fleet) sees requests arrive as a Poisson stream at rate
``arrival_rate`` per second (the frames of many devices, merged), runs one batch at a time, and
takes a deterministic ``service_s[b - 1]`` seconds for a batch of ``b`` (the roofline at batch
b). Its dynamic batcher has a largest batch ``max_batch`` (B) and a queue delay ``max_delay_s``
(D), as Triton's has:

* when a batch ends and requests are waiting, the next batch takes the oldest ``min(waiting,
  B)`` of them at once (they have waited a service time already);
* a request that finds the server idle and nobody waiting opens a batch, which starts when B
  requests are there or D after it arrived, whichever comes first.

With B = 1 this is the M/D/1 queue. The queue is stable while ``arrival_rate x service_s[B-1] /
B`` (the load) is below 1; at or above it :func:`sojourn` returns None.

Method (exact up to truncation and a time grid):

1. the number waiting when a batch ends is a Markov chain; grouped in levels of B it is of
   M/G/1 type (down at most one level per batch), solved with Neuts' matrix G and Ramaswami's
   recursion, which only add positive terms (stable at high load);
2. a request arriving at a random time (Poisson arrivals see time averages) arrives during a
   batch's service with ``p`` requests ahead of it (it waits for the rest of that service,
   ``p // B`` full batches and its own batch, whose size depends on who arrives after it), or
   finds the server idle and opens a batch, or joins a batch waiting for company;
3. the sojourn (waiting + its batch's service) is collected on a time grid as a
   :class:`Distribution`, which also adds independent delays (the link) and takes the
   maximum over servers that answer in parallel.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

MAX_BINS = 1 << 16
TAIL = 1e-12  # probability mass below which a level, a count or a grid cell is dropped
SLICES = 16  # points per batch service at which an arrival's position is evaluated


@dataclass(frozen=True)
class Distribution:
    """A delay in seconds: ``offset_s + i x step_s`` with probability ``pmf[i]``."""

    offset_s: float
    step_s: float
    pmf: np.ndarray

    @staticmethod
    def constant(value_s: float) -> Distribution:
        return Distribution(value_s, 1.0, np.ones(1))

    @property
    def top_s(self) -> float:
        return self.offset_s + (len(self.pmf) - 1) * self.step_s

    def mean(self) -> float:
        i = np.arange(len(self.pmf))
        return float(self.offset_s + self.step_s * np.dot(i, self.pmf) / self.pmf.sum())

    def quantile(self, q: float) -> float:
        """The smallest grid delay with at least ``q`` of the probability at or below it."""
        cdf = np.cumsum(self.pmf) / self.pmf.sum()
        i = min(int(np.searchsorted(cdf, q - 1e-12)), len(cdf) - 1)
        return self.offset_s + i * self.step_s

    def exceeds(self, limit_s: float) -> float:
        """P(delay > limit_s): the probability beyond the last grid point at or below it."""
        x = (limit_s - self.offset_s) / self.step_s
        if x < 0:
            return 1.0
        cdf = np.cumsum(self.pmf) / self.pmf.sum()
        i = min(math.floor(x + 1e-9), len(cdf) - 1)
        beyond = 1.0 - float(cdf[i])
        return beyond if beyond > 1e-12 else 0.0  # below the sums' rounding: none

    def on(self, offset_s: float, step_s: float, bins: int) -> np.ndarray:
        """The probabilities on another grid (each point's mass split between its two
        neighbours)."""
        x = (self.offset_s + np.arange(len(self.pmf)) * self.step_s - offset_s) / step_s
        x = np.clip(x, 0.0, bins - 1.0)
        lo = np.floor(x).astype(np.int64)
        hi = np.minimum(lo + 1, bins - 1)
        frac = x - lo
        out: np.ndarray = np.bincount(lo, weights=self.pmf * (1 - frac), minlength=bins)
        out += np.bincount(hi, weights=self.pmf * frac, minlength=bins)
        return out

    def shifted(self, by_s: float) -> Distribution:
        return Distribution(self.offset_s + by_s, self.step_s, self.pmf)


def _grid_for(parts: Sequence[Distribution], spans: float) -> tuple[float, int]:
    """A step fine enough for every part (their own steps), with at most MAX_BINS bins over
    ``spans`` seconds."""
    steps = [d.step_s for d in parts if len(d.pmf) > 1]
    step = min(steps) if steps else max(spans, 1e-9)
    step = max(step, spans / (MAX_BINS - 1))
    return step, math.ceil(spans / step) + 1


def plus(parts: Sequence[Distribution]) -> Distribution:
    """The sum of independent delays."""
    offset = sum(d.offset_s for d in parts)
    spans = sum(d.top_s - d.offset_s for d in parts)
    if spans <= 0:
        return Distribution.constant(offset)
    step, bins = _grid_for(parts, spans)
    total = np.ones(1)
    for d in parts:
        if len(d.pmf) == 1:
            continue
        own = d.on(d.offset_s, step, math.ceil((d.top_s - d.offset_s) / step) + 1)
        total = _convolve(total, own)
    return Distribution(offset, step, total[:bins] if len(total) > bins else total)


def _convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if min(len(a), len(b)) < 64:
        return np.convolve(a, b)
    n = len(a) + len(b) - 1
    size = 1 << (n - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b, size), size)[:n]
    return np.clip(out, 0.0, None)


def largest(parts: Sequence[Distribution]) -> Distribution:
    """The maximum of independent delays (servers answering in parallel)."""
    if len(parts) == 1:
        return parts[0]
    low = min(d.offset_s for d in parts)
    high = max(d.top_s for d in parts)
    if high <= low:
        return Distribution.constant(low)
    step, bins = _grid_for(parts, high - low)
    cdf = np.ones(bins)
    for d in parts:
        own = d.on(low, step, bins)
        cdf *= np.cumsum(own) / own.sum()
    return Distribution(low, step, np.diff(np.concatenate(([0.0], cdf))))


# --- the batching server -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sojourn:
    """One server's time from a request's arrival to its batch's end, under load."""

    load: float  # arrival rate x S(B) / B
    delay: Distribution  # waiting + its batch's service
    mean_wait_s: float  # waiting for its batch to start (the queue and the batcher's delay)
    mean_service_s: float  # its batch's service
    mean_batch: float  # the size of the batch a request is served in, on average
    lost: float  # probability mass the truncation dropped (a check; stays below 1e-6)


def _log_factorials(upto: int) -> np.ndarray:
    """log(k!) for k = 0..upto-1."""
    return np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, max(upto, 1))))))[:upto]


def _poisson(mean: float, upto: int) -> np.ndarray:
    """Poisson probabilities of 0..upto-1."""
    if mean <= 0:
        out = np.zeros(upto)
        out[0] = 1.0
        return out
    k = np.arange(upto)
    probs: np.ndarray = np.exp(k * math.log(mean) - mean - _log_factorials(upto))
    return probs


def _poisson_upto(mean: float) -> int:
    return int(mean + 12 * math.sqrt(mean) + 30)


def _timer_batches(rate: float, delay: float, b: int) -> np.ndarray:
    """P(a batch opened on an idle server holds k requests), k = 1..B."""
    out = np.zeros(b)
    if b == 1:
        out[0] = 1.0
        return out
    joined = _poisson(rate * delay, b - 1)
    out[: b - 1] = joined
    out[b - 1] = max(0.0, 1.0 - joined.sum())
    return out


def completion_chain(rate: float, service_s: Sequence[float], delay_s: float
                     ) -> np.ndarray:
    """Stationary probabilities of the number of requests waiting when a batch ends."""
    b = len(service_s)
    s = np.asarray(service_s, dtype=float)
    upto = _poisson_upto(rate * s[-1]) + 2 * b
    blocks = upto // b + 2
    width = blocks * b
    full = _poisson(rate * s[-1], width + b)
    # From Q = B*l + i (l >= 1): Q' = Q - B + A_B -> level l - 1 + k, phase j, A_B = kB + j - i.
    a = np.zeros((blocks, b, b))
    for k in range(blocks):
        for i in range(b):
            idx = k * b + np.arange(b) - i
            ok = idx >= 0
            a[k, i, ok] = full[idx[ok]]
    # From level 0: Q = 0 opens a batch of k ~ timer; Q = i < B serves all i.
    timer = _timer_batches(rate, delay_s, b)
    first = np.zeros((b, width))
    mix = np.zeros(width)
    for k in range(b):
        if timer[k] > 0:
            mix += timer[k] * _poisson(rate * s[k], width)
    first[0] = mix
    for i in range(1, b):
        first[i] = _poisson(rate * s[i - 1], width)
    bb = first.reshape(b, blocks, b).transpose(1, 0, 2)  # bb[k] : level 0 -> level k
    g = _neuts_g(a)
    # A-bar and B-bar: sums over the blocks reachable in one step, folded with G.
    a_bar = np.zeros_like(a)
    b_bar = np.zeros_like(bb)
    acc_a = np.zeros((b, b))
    acc_b = np.zeros((b, b))
    for k in range(blocks - 1, -1, -1):
        acc_a = a[k] + acc_a @ g
        acc_b = bb[k] + acc_b @ g
        a_bar[k] = acc_a
        b_bar[k] = acc_b
    # Level 0: the stationary vector of the censored chain B-bar_0.
    pi0 = _stationary(b_bar[0])
    inv = np.linalg.inv(np.eye(b) - a_bar[1])
    levels = [pi0]
    total = pi0.sum()
    for lev in range(1, 100_000):
        acc = pi0 @ b_bar[lev] if lev < blocks else np.zeros(b)
        for j in range(max(1, lev + 1 - blocks + 1), lev):
            acc = acc + levels[j] @ a_bar[lev + 1 - j]
        nxt = np.clip(acc @ inv, 0.0, None)
        levels.append(nxt)
        total += nxt.sum()
        if lev > blocks and nxt.sum() < TAIL * total:
            break
    q: np.ndarray = np.concatenate(levels)
    return q / float(q.sum())


def _neuts_g(a: np.ndarray) -> np.ndarray:
    """The minimal solution of G = sum_k A_k G^k, by G = (I - sum_{k>=1} A_k G^{k-1})^-1 A_0."""
    b = a.shape[1]
    g = np.zeros((b, b))
    eye = np.eye(b)
    for _ in range(200_000):
        power = eye
        acc = np.zeros((b, b))
        for k in range(1, a.shape[0]):
            acc += a[k] @ power
            power = power @ g
        new = np.linalg.solve(eye - acc, a[0])
        if np.max(np.abs(new - g)) < 1e-15 or np.max(np.abs(new.sum(1) - 1)) < 1e-14:
            return new
        g = new
    return g


def _stationary(p: np.ndarray) -> np.ndarray:
    """The stationary row vector of a stochastic matrix."""
    n = p.shape[0]
    if n == 1:
        return np.ones(1)
    m = p.T - np.eye(n)
    m[-1] = 1.0
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    out: np.ndarray = np.clip(np.linalg.solve(m, rhs), 0.0, None)
    return out


def load_of(rate: float, service_s: Sequence[float]) -> float:
    return rate * service_s[-1] / len(service_s)


def sojourn(rate: float, service_s: Sequence[float], delay_s: float = 0.0) -> Sojourn | None:
    """The sojourn of a request at a batching server (module docstring); None at or above
    100% load. ``service_s[b - 1]`` is the time of a batch of ``b``."""
    b = len(service_s)
    s = np.asarray(service_s, dtype=float)
    load = load_of(rate, service_s)
    if not load < 1.0:
        return None
    if rate <= 0:
        one = Distribution.constant(float(s[0]))
        return Sojourn(0.0, one, 0.0, float(s[0]), 1.0, 0.0)
    q = completion_chain(rate, service_s, delay_s)
    # Where each batch starts, one start per completion: a batch of k < B with nobody left
    # waiting (``part[k-1]``), or a full batch leaving r waiting (``full[r]``). Q = 0 opens a
    # batch on an idle server (its size from the batcher's delay).
    idle = float(q[0])
    timer = _timer_batches(rate, delay_s, b)
    full = np.zeros(max(len(q) - b, 1))
    if len(q) > b:
        full[: len(q) - b] = q[b:]
    full[0] += idle * timer[b - 1]
    part = np.zeros(b - 1)
    for k in range(1, b):
        part[k - 1] = (q[k] if k < len(q) else 0.0) + idle * timer[k - 1]
    mean_open = float(np.dot(np.arange(1, b + 1), timer))
    arrivals = idle * mean_open + rate * (float(np.dot(part, s[: b - 1]))
                                          + float(full.sum()) * s[-1])

    ahead_most = len(full) + _poisson_upto(rate * s[-1])
    top = (ahead_most / b + 2) * s[-1] + delay_s + 2 * float(s.max())
    # A step that puts S(1) on the grid (most requests at low load take exactly S(1)).
    step = float(s[0]) / 64
    while delay_s > 0 and step > delay_s / 16 and step > float(s[0]) / 4096:
        step /= 2
    while top / step > MAX_BINS - 2:
        step *= 2
    bins = math.ceil(top / step) + 2
    stats = np.zeros(3)  # weight x (own service, own size, wait)
    where: list[np.ndarray] = []  # every sojourn, and its probability, put on the grid at once
    how_likely: list[np.ndarray] = []

    def put(at: np.ndarray, weight: np.ndarray) -> None:
        where.append(np.asarray(at, dtype=float))
        how_likely.append(np.asarray(weight, dtype=float))

    # 1. Arrivals during a batch's service, at SLICES points of it: p requests ahead of one
    # that arrives at t are those left waiting when the batch started plus Poisson(rate t).
    for size in range(1, b + 1):
        left = full if size == b else part[size - 1: size]
        if left.sum() <= TAIL:
            continue
        dur = float(s[size - 1])
        t = (np.arange(SLICES) + 0.5) * dur / SLICES
        upto = _poisson_upto(rate * dur)
        counts = np.arange(upto)
        new = np.exp(counts[None, :] * np.log(rate * t)[:, None] - rate * t[:, None]
                     - _log_factorials(upto)[None, :])
        ahead = _rows_convolve(new, left)
        weight = ahead * (rate * dur / SLICES) / arrivals
        m_idx, p = np.nonzero(weight > TAIL)
        w = weight[m_idx, p]
        wait = (dur - t[m_idx]) + (p // b) * s[-1]
        later = rate * wait  # arrivals behind it before its batch starts
        sizes, probs = _own_sizes(p % b, later, b)
        service = s[sizes - 1]
        put((wait[:, None] + service).ravel(), (w[:, None] * probs).ravel())
        stats += [float((w[:, None] * probs * service).sum()),
                  float((w[:, None] * probs * sizes).sum()), float((w * wait).sum())]
    # 2. Openers and 3. joiners of a batch that starts on an idle server.
    if idle > TAIL:
        _openers(put, stats, rate, s, delay_s, idle / arrivals, step)
    x = np.clip(np.concatenate(where) / step, 0.0, bins - 1.0)
    weights = np.concatenate(how_likely)
    lo = np.floor(x).astype(np.int64)
    frac = x - lo
    hist = np.bincount(lo, weights=weights * (1 - frac), minlength=bins)
    hist += np.bincount(np.minimum(lo + 1, bins - 1), weights=weights * frac, minlength=bins)
    total = float(hist.sum())
    lost = abs(1.0 - total)
    mean_service, mean_size, mean_wait = (stats / total).tolist()
    return Sojourn(load, Distribution(0.0, step, hist / total), mean_wait, mean_service,
                   mean_size, lost)


def _rows_convolve(rows: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Each row of ``rows`` convolved with ``v``."""
    n = rows.shape[1] + len(v) - 1
    if len(v) == 1:
        scaled: np.ndarray = rows * v[0]
        return scaled
    if len(v) < 64:
        return np.stack([np.convolve(r, v) for r in rows])
    size = 1 << (n - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(rows, size, axis=1) * np.fft.rfft(v, size)[None, :], size,
                       axis=1)[:, :n]
    return np.clip(out, 0.0, None)


def _own_sizes(pos: np.ndarray, later: np.ndarray, b: int) -> tuple[np.ndarray, np.ndarray]:
    """The size of each arrival's own batch: ``pos`` ahead of it in that batch, itself, and
    Poisson(``later``) arrivals behind it, at most B. Returns (sizes 1..B, probabilities), one
    row per arrival."""
    n = len(pos)
    sizes = np.arange(1, b + 1)
    extra = sizes[None, :] - (pos[:, None] + 1)  # how many arrived behind it
    lgamma = _log_factorials(b + 1)
    lam = np.maximum(later, 1e-300)[:, None]
    safe = np.maximum(extra, 0)
    probs = np.where(extra >= 0, np.exp(safe * np.log(lam) - lam - lgamma[safe]), 0.0)
    # The largest batch takes every count that would overflow it.
    probs[:, b - 1] += np.clip(1.0 - probs.sum(1), 0.0, None)
    return np.broadcast_to(sizes, (n, b)), probs


def _openers(put: Callable[[np.ndarray, np.ndarray], None], stats: np.ndarray, rate: float,
             s: np.ndarray, delay_s: float, share: float, step: float) -> None:
    """Requests that find the server idle (they open a batch) and those that join it while it
    waits for company; ``share`` of all arrivals open one."""
    b = len(s)
    if b == 1 or delay_s <= 0:
        put(np.array([float(s[0])]), np.array([share]))
        stats += [share * float(s[0]), share * 1.0, 0.0]
        return
    joined = _poisson(rate * delay_s, b - 1)
    full = max(0.0, 1.0 - joined.sum())
    # Fewer than B-1 join within D: the batch starts D after its opener, with 1 + n requests.
    for n in range(b - 1):
        if joined[n] <= 0:
            continue
        put(np.array([delay_s + s[n]]), np.array([share * joined[n]]))
        stats += [share * joined[n] * s[n], share * joined[n] * (n + 1),
                  share * joined[n] * delay_s]
        if n >= 1:  # n joiners, each waiting Uniform(0, D) for the start
            points = max(int(delay_s / step), 1)
            x = (np.arange(points) + 0.5) * delay_s / points
            w = np.full(points, share * n * joined[n] / points)
            put(x + s[n], w)
            stats += [float(w.sum()) * s[n], float(w.sum()) * (n + 1), float((w * x).sum())]
    if full <= TAIL:
        return
    # B-1 join before D: the batch starts at the (B-1)-th, tau ~ Erlang(B-1) below D.
    points = max(int(delay_s / step), 64)
    tau = (np.arange(points) + 0.5) * delay_s / points
    k = b - 1
    logf = k * math.log(rate) + (k - 1) * np.log(tau) - rate * tau - math.lgamma(k)
    dens = np.exp(logf) * delay_s / points  # P(tau in each cell)
    dens *= full / dens.sum()
    w_open = share * dens
    put(tau + s[-1], w_open)
    stats += [float(w_open.sum()) * s[-1], float(w_open.sum()) * b, float((w_open * tau).sum())]
    # The (B-1)-th joiner starts at once; the B-2 before it wait Uniform(0, tau).
    put(np.array([float(s[-1])]), np.array([share * full]))
    stats += [share * full * s[-1], share * full * b, 0.0]
    if b > 2:
        # Density at x of "Uniform(0, tau)" mixed over tau: sum over tau > x of dens / tau.
        # Each tau spreads over the whole cells below it and half of its own.
        per = dens / tau * (delay_s / points)
        tail = np.cumsum(per[::-1])[::-1] - 0.5 * per
        w = share * (b - 2) * tail
        put(tau + s[-1], w)
        stats += [float(w.sum()) * s[-1], float(w.sum()) * b, float((w * tau).sum())]


__all__ = ["Distribution", "Sojourn", "completion_chain", "largest", "load_of", "plus",
           "sojourn"]
