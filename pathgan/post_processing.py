"""What happens to tiles after the network: the colour map, then the compression matching.

One value, stored in a checkpoint's config and applied by the Synthesizer to every tile, so the app, the CLI
and the evaluation all see the same output. Both steps act on whole images, after tiles are blended; the
JPEG encode comes last, once, as a scanner's would.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .colour_calibration import ColourCalibration
from .compression_matching import CompressionMatch


@dataclass(frozen=True)
class PostProcessing:
    colour: ColourCalibration | None = None
    compression: CompressionMatch | None = None  # None: lossless tiles
    colour_selection: dict | None = None  # why the colour map is there or not (calibrate --colour auto): provenance only

    @classmethod
    def from_config(cls, config: dict, source: str = "checkpoint config") -> "PostProcessing":
        """Read and check a checkpoint config's entries ('calibration', 'compression', 'colour_selection'); a ValueError
        names the source and what to re-run (CheckpointConfig turns it into a CheckpointError)."""
        try:
            colour = ColourCalibration.from_dict(config["calibration"]) if config.get("calibration") is not None else None
            compression = CompressionMatch.from_dict(config["compression"]) if config.get("compression") is not None else None
        except ValueError as e:
            raise ValueError(f"{source}: {e}; re-run `python -m pathgan calibrate` on the uncalibrated checkpoint") from None
        selection = config.get("colour_selection")
        return cls(colour, compression, selection if isinstance(selection, dict) else None)

    def to_config(self) -> dict:
        """The config entries, only those that are set."""
        entries = {"calibration": self.colour.to_dict() if self.colour else None,
                   "compression": self.compression.to_dict() if self.compression else None,
                   "colour_selection": self.colour_selection}
        return {k: v for k, v in entries.items() if v is not None}

    def without_compression(self) -> "PostProcessing":
        return replace(self, compression=None)

    @property
    def description(self) -> str:
        """In words, so every quoted number can say which output it scored."""
        steps = []
        if self.colour:
            steps.append(f"colour map fitted on {self.colour.fitted_on.get('split', 'unknown')}")
        if self.compression:
            steps.append(f"{self.compression.description}, as the {self.compression.fitted_on.get('split', 'training')} tiles")
        return "; then ".join(steps) if steps else "none (lossless network output)"

    def apply(self, images: list[np.ndarray]) -> list[np.ndarray]:
        if self.colour:
            images = self.colour.apply(images)
        return self.compression.apply(images) if self.compression else images
