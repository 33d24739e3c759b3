"""Segmentation scores against reference masks: per-class Dice (MONAI's DiceMetric), panoptic quality
accumulated over the whole set per class (CoNIC's multi-class PQ), and the aggregated Jaccard index (AJI,
Kumar et al. 2017), which MONAI lacks.

PQ is computed here from one contingency table per image rather than with MONAI's PanopticQualityMetric:
MONAI pairs instances with a Python loop per instance, which took minutes per tile when a weakly trained
segmenter predicted thousands of speckle components. At IoU > 0.5 every match is unique, so the table gives
the same true positives, false positives, false negatives and IoU sums; a test checks it against MONAI's
`compute_panoptic_quality`.

Predicted instances are the connected components of each predicted class; reference instances come from the
dataset's instance maps where it has them, else from the connected components of the reference mask.
"""
from __future__ import annotations

import numpy as np
import torch
from monai.metrics import DiceMetric
from monai.networks.utils import one_hot
from scipy import ndimage


def instances_from_classes(ids: np.ndarray) -> np.ndarray:
    """Connected components (8-neighbour) of each class, numbered from 1 across classes."""
    inst = np.zeros(ids.shape, np.int32)
    n = 0
    for c in np.unique(ids):
        if c == 0:
            continue
        labels, k = ndimage.label(ids == c, structure=np.ones((3, 3), bool))
        inst[labels > 0] = labels[labels > 0] + n
        n += k
    return inst


def pq_counts(true_inst: np.ndarray, pred_inst: np.ndarray, threshold: float = 0.5) -> tuple[int, int, int, float]:
    """(true positives, false positives, false negatives, IoU sum) of one image's instances, matched at IoU > threshold."""
    t, p, inter, area_t, area_p = _contingency(true_inst, pred_inst)
    nt, npred = len(area_t) - 1, len(area_p) - 1
    present_t, present_p = int((area_t[1:] > 0).sum()), int((area_p[1:] > 0).sum())
    if nt == 0 or npred == 0:
        return 0, present_p, present_t, 0.0
    iou = inter / np.maximum(area_t[1:, None] + area_p[None, 1:] - inter, 1)
    matched = iou > threshold
    tp = int(matched.sum())
    return tp, present_p - tp, present_t - tp, float(iou[matched].sum())


def _contingency(true_inst: np.ndarray, pred_inst: np.ndarray):
    t, p = true_inst.ravel().astype(np.int64), pred_inst.ravel().astype(np.int64)
    table = np.zeros((int(t.max(initial=0)) + 1, int(p.max(initial=0)) + 1), np.int64)
    np.add.at(table, (t, p), 1)
    return t, p, table[1:, 1:], table.sum(1), table.sum(0)


def aji(true_inst: np.ndarray, pred_inst: np.ndarray) -> tuple[float, float]:
    """(intersection, union) sums of the aggregated Jaccard index for one image; AJI = sum C / sum U over images."""
    t, p, inter, area_t, area_p = _contingency(true_inst, pred_inst)
    nt, npred = len(area_t) - 1, len(area_p) - 1
    if nt == 0:
        return 0.0, float((p > 0).sum())
    union = area_t[1:, None] + area_p[None, 1:] - inter
    c = u = 0.0
    used = np.zeros(npred, bool)
    for i in range(nt):
        if area_t[i + 1] == 0:
            continue
        if npred == 0 or inter[i].max() == 0:
            u += area_t[i + 1]
            continue
        j = int(np.argmax(inter[i] / np.maximum(union[i], 1)))
        c, u = c + inter[i, j], u + union[i, j]
        used[j] = True
    u += area_p[1:][~used].sum()
    return float(c), float(u)


class SegmentationScores:
    """Accumulates Dice, PQ and AJI over a set of (predicted ids, reference ids, reference instances)."""

    def __init__(self, class_names: list[str]):
        self.class_names = list(class_names)
        k = len(class_names)
        self.dice = DiceMetric(include_background=False, reduction="mean_batch", ignore_empty=True)
        self.pq = np.zeros((k, 4))  # per class: tp, fp, fn, IoU sum
        self.aji_c = self.aji_u = 0.0
        self.images = 0

    def add(self, pred_ids: np.ndarray, true_ids: np.ndarray, true_instances: np.ndarray | None = None) -> None:
        k = len(self.class_names)
        pred = torch.from_numpy(pred_ids.astype(np.int64))[None, None]
        true = torch.from_numpy(true_ids.astype(np.int64))[None, None]
        self.dice(one_hot(pred, k + 1), one_hot(true, k + 1))
        pred_inst = instances_from_classes(pred_ids)
        true_inst = instances_from_classes(true_ids) if true_instances is None else true_instances.astype(np.int32) * (true_ids > 0)
        for c in range(1, k + 1):
            self.pq[c - 1] += pq_counts(true_inst * (true_ids == c), pred_inst * (pred_ids == c))
        c, u = aji(true_inst, pred_inst)
        self.aji_c, self.aji_u = self.aji_c + c, self.aji_u + u
        self.images += 1

    def result(self) -> dict:
        if not self.images:
            raise ValueError("no images were scored")
        dice = self.dice.aggregate().tolist()
        tp, fp, fn, iou = self.pq.T.tolist()
        pq = [i / (a + 0.5 * b + 0.5 * c) if a + b + c > 0 else float("nan") for a, b, c, i in zip(tp, fp, fn, iou)]
        return {
            "images": self.images,
            "dice": dict(zip(self.class_names, dice)),
            "mean_dice": _nanmean(dice),
            "pq": dict(zip(self.class_names, pq)),
            "mpq": _nanmean(pq),
            "aji": self.aji_c / self.aji_u if self.aji_u else float("nan"),
        }


def _nanmean(values) -> float:
    v = np.asarray(values, float)
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
