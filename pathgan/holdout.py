"""Judging a fine-tune on the pairs its training held out: is it better than the base it started from?

Every candidate (the base as it is delivered, with its post-processing and the run's class map, and the fine-tuned
networks) renders each held-out mask with the same seeds. Each is scored by FID and KID against the held-out real
tiles, on the views `evaluate` uses (256-px crops of larger tiles). The choice is by KID, which is unbiased at any
number of images: a held-out set is a few dozen crops, where FID's covariance has far fewer samples than its 2,048
dimensions and its bias swamps differences (measured on a binary benchmark: FID on 36 held-out crops ranked a
fine-tune below its base that the 126-crop test split put 8 FID above it; KID ranked it as the test split did).
A fine-tuned candidate is kept only when its KID is lower than the base's; otherwise the base is, and the
verdict says so.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .dataset import Pair
from .masks import read_mask
from .metrics import InceptionFeatures, SmallSampleWarning, feature_statistics, fid_from_stats, image_set_features, kid
from .metrics.views import image_views
from .synthesis import Synthesizer

BASE = "base"
JUDGE_SEEDS = (0, 1)


@dataclass
class Verdict:
    """Scores of every candidate on the held-out pairs, and which one is the result."""
    held_out: list[str]
    seeds: list[int]
    views: dict[str, int]  # real / per-candidate crops scored
    scores: dict[str, dict[str, float]]  # candidate -> {"fid", "kid"}
    chosen: str
    criterion: str = "lower KID than the base; among several, the lowest KID"
    notes: list[str] = field(default_factory=list)

    @property
    def kept_base(self) -> bool:
        return self.chosen == BASE

    def describe(self) -> str:
        rows = ", ".join(f"{name} FID {s['fid']:.1f} / KID {s['kid']:.4f}" for name, s in self.scores.items())
        head = (f"held-out check on {len(self.held_out)} pairs ({self.views['real']} real crops, seeds "
                f"{','.join(map(str, self.seeds))}): {rows}.")
        if self.kept_base:
            return head + " No fine-tuned network beat the base, so the result is the base's weights (the fine-tuned files are kept beside it)."
        return head + f" The result is {self.chosen}."

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")


def judge(candidates: dict[str, Synthesizer], pairs: list[Pair], extractor: InceptionFeatures, seeds: tuple[int, ...] = JUDGE_SEEDS,
          views: str = "crop", kid_subsets: int = 100, kid_seed: int = 0) -> Verdict:
    """Score `candidates` (BASE first) on the held-out `pairs`, read in the candidates' common mask scheme."""
    if BASE not in candidates:
        raise ValueError(f"the candidates must include {BASE!r}")
    scheme = candidates[BASE].scheme
    masks = [read_mask(p.mask_path, scheme) for p in pairs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)  # small on purpose; the same for every candidate
        real = image_set_features([p.image_path for p in pairs], extractor, "held-out real", progress=False, views=views)
    scores, counts = {}, {"real": len(real)}
    for name, synth in candidates.items():
        crops = (v for ids in masks for im in synth.generate(ids, list(seeds)) for v in image_views(im, views))
        feats = extractor.features(crops, desc=f"held-out {name}", progress=False)
        mean, cov = feature_statistics(feats)
        counts[name] = len(feats)
        k = kid(real.features, feats, kid_subsets, min(len(real), len(feats)), kid_seed)
        scores[name] = {"fid": round(fid_from_stats(real.mean, real.cov, mean, cov), 3), "kid": round(k["mean"], 5)}
    base = scores[BASE]
    better = [n for n, s in scores.items() if n != BASE and s["kid"] < base["kid"]]
    chosen = min(better, key=lambda n: scores[n]["kid"]) if better else BASE
    return Verdict([p.stem for p in pairs], list(seeds), counts, scores, chosen)
