"""What a reading study's answers allow one to conclude: accuracy against chance, with honest uncertainty.

Accuracy carries a 95 % Wilson interval and an exact two-sided binomial test against 0.5. Single-tile
studies add sensitivity and specificity for "synthetic" and d′. The conclusion says what the numbers allow
and no more, including the power the study had to detect a real difference.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from scipy import stats as sps

CHANCE = 0.5
DETECTABLE_ACCURACY = 0.70  # the conclusion states the power to detect a true accuracy this far from chance
ALPHA = 0.05


@dataclass
class Answer:
    """One answered trial, as the statistics need it."""
    reader: str
    checkpoint: str
    correct: bool
    said_synthetic: bool | None = None  # single-tile mode: the reader's call
    truth_synthetic: bool | None = None  # single-tile mode: what the tile was
    confidence: int | None = None


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def binomial_p(k: int, n: int) -> float:
    """Exact two-sided binomial test of k successes in n against chance."""
    return float(sps.binomtest(k, n, CHANCE, alternative="two-sided").pvalue) if n else 1.0


def power(n: int, true_accuracy: float = DETECTABLE_ACCURACY, alpha: float = ALPHA) -> float:
    """Probability that the exact two-sided test at `alpha` rejects chance when the true accuracy is `true_accuracy`."""
    if n == 0:
        return 0.0
    reject = [k for k in range(n + 1) if binomial_p(k, n) <= alpha]
    return float(sum(sps.binom.pmf(k, n, true_accuracy) for k in reject))


def d_prime(hits: int, signal: int, false_alarms: int, noise: int) -> float | None:
    """Sensitivity index with the log-linear correction (add 0.5 to counts, 1 to totals), so 0 and 1 rates stay finite."""
    if not signal or not noise:
        return None
    h, f = (hits + 0.5) / (signal + 1), (false_alarms + 0.5) / (noise + 1)
    return float(sps.norm.ppf(h) - sps.norm.ppf(f))


@dataclass
class Summary:
    n: int
    correct: int
    accuracy: float | None
    ci_low: float
    ci_high: float
    p_value: float
    power_at_070: float
    mean_confidence_correct: float | None
    mean_confidence_wrong: float | None
    sensitivity: float | None = None  # single-tile: P(said synthetic | synthetic)
    specificity: float | None = None  # single-tile: P(said real | real)
    d_prime: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(answers: list[Answer]) -> Summary:
    n, k = len(answers), sum(a.correct for a in answers)
    lo, hi = wilson_interval(k, n)
    s = Summary(n, k, k / n if n else None, lo, hi, binomial_p(k, n), power(n),
                _mean([a.confidence for a in answers if a.correct and a.confidence]),
                _mean([a.confidence for a in answers if not a.correct and a.confidence]))
    single = [a for a in answers if a.truth_synthetic is not None]
    if single:
        syn = [a for a in single if a.truth_synthetic]
        real = [a for a in single if not a.truth_synthetic]
        hits, false_alarms = sum(a.said_synthetic for a in syn), sum(a.said_synthetic for a in real)
        s.sensitivity = hits / len(syn) if syn else None
        s.specificity = (len(real) - false_alarms) / len(real) if real else None
        s.d_prime = d_prime(hits, len(syn), false_alarms, len(real))
    return s


def conclusion(s: Summary) -> str:
    """What the numbers allow, in plain words, and no more."""
    if s.n == 0:
        return "No answers yet."
    numbers = f"accuracy {s.accuracy:.2f}, 95 % CI {s.ci_low:.2f}–{s.ci_high:.2f}, p = {s.p_value:.2g}, n = {s.n}"
    power_text = f"with this n a true accuracy of {DETECTABLE_ACCURACY:.2f} would be detected with power {s.power_at_070:.2f}"
    if s.p_value <= ALPHA and s.accuracy > CHANCE:
        return f"Readers told synthetic from real tiles better than chance ({numbers})."
    if s.p_value <= ALPHA:
        return (f"Readers picked the synthetic tile less often than chance ({numbers}): they took synthetic tiles for real "
                "ones more often than the real ones themselves.")
    verdict = f"Readers could not tell synthetic from real better than chance ({numbers}); {power_text}."
    if s.power_at_070 < 0.8:
        verdict += " That power is low: the study cannot rule out that readers can tell them apart; more answers are needed."
    return verdict


def breakdown(answers: list[Answer]) -> dict:
    """Summaries pooled, per reader and per checkpoint."""
    readers = sorted({a.reader for a in answers})
    checkpoints = sorted({a.checkpoint for a in answers})
    pooled = summarize(answers)
    return {"pooled": {**pooled.to_dict(), "conclusion": conclusion(pooled)},
            "readers": {r: summarize([a for a in answers if a.reader == r]).to_dict() for r in readers},
            "checkpoints": {c: {**(s := summarize([a for a in answers if a.checkpoint == c])).to_dict(), "conclusion": conclusion(s)}
                            for c in checkpoints}}
