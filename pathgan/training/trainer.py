"""The training loop: data -> networks -> losses -> optimizers, with checkpoints, samples and metrics."""
from __future__ import annotations

import copy
import json
import re
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

from ..compression_matching import read_compression
from ..checkpoint import CheckpointConfig, CheckpointError, atomic_write, load_generator, save_generator
from ..devices import autocast, describe_device, fast_memory_format, resolve_precision
from ..dataset import DatasetScan, PairedDataset, dataset_fingerprint, held_out, scan_dataset
from ..errors import ConfigError, PathGANError
from ..hashing import file_sha256
from ..images import read_rgb
from ..masks import read_mask
from ..models import build_discriminator, build_generator
from ..models.segmentation_critic import LABELMIX_WEIGHT, SegmentationCritic, labelmix, segmentation_loss
from ..paths import PROJECT_ROOT
from ..schemes import ClassMap, ClassScheme, SchemeMismatch, check_same_classes, suggested_class_map
from ..seeds import torch_generator
from ..synthesis import Synthesizer
from ..tensors import image_to_tensor, tensor_to_images
from ..tiling import TILE
from .config import TrainConfig
from .diffaugment import AugmentedCritic, parse_policy
from .distributed import init_distributed, shutdown
from .losses import GeneratorLoss, gan_loss
from .samples import sample_grid, write_sample_grid

STATE_FILE = "train_state.pt"
CONFIG_FILE = "config.json"
GENERATOR_FILE = "generator.safetensors"
RAW_GENERATOR_FILE = "generator-raw.safetensors"  # written beside the moving average when --ema-decay is on
DISCRIMINATOR_FILE = "discriminator.safetensors"  # so a later fine-tune can start from the critic the generator knows


class TrainingError(PathGANError, RuntimeError):
    """Training stopped for a reason the user must act on."""


def init_weights(module: nn.Module) -> None:
    """pix2pix's initialisation: conv weights N(0, 0.02), norm gains N(1, 0.02); layers that must start as they are built
    (SPADE's zero modulation) keep their own."""
    kept = {id(p) for m in module.modules() if getattr(m, "keeps_its_init", False) for p in m.parameters()}
    for m in module.modules():
        if any(id(p) in kept for p in m.parameters(recurse=False)):
            continue
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def batch_indices(n: int, global_batch: int, seed: int, step: int) -> tuple[int, list[int]]:
    """(epoch, indices of the global batch at `step`): a fresh permutation per epoch, derived from the step alone."""
    per_epoch = n // global_batch
    epoch, pos = divmod(step, per_epoch)
    perm = torch.randperm(n, generator=torch_generator(seed, epoch))
    return epoch, perm[pos * global_batch : (pos + 1) * global_batch].tolist()


class _StepBatches(torch.utils.data.Sampler):
    """The (epoch, index) items of one process's share of each step's batch, from `start` on: what `batch_indices` gives."""

    def __init__(self, n: int, global_batch: int, seed: int, start: int, lo: int, count: int):
        self.n, self.global_batch, self.seed, self.start, self.lo, self.count = n, global_batch, seed, start, lo, count

    def __iter__(self):
        step = self.start
        while True:
            epoch, idx = batch_indices(self.n, self.global_batch, self.seed, step)
            yield [(epoch, i) for i in idx[self.lo : self.lo + self.count]]
            step += 1


def git_commit() -> str:
    """The checkout's commit, with '+changes' when it has uncommitted ones; 'unknown' outside a git history."""
    def git(*args) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5)
    try:
        head = git("rev-parse", "--verify", "HEAD")  # plain rev-parse prints 'HEAD' in a repository with no commits
        if head.returncode or not re.fullmatch(r"[0-9a-f]{40}", head.stdout.strip()):
            return "unknown"
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
        return head.stdout.strip() + ("+changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@dataclass(frozen=True)
class StartingPoint:
    """The generator a run starts from (--init-generator), read once: its config, file hash and, for a fresh run, weights."""
    path: Path
    config: CheckpointConfig
    sha256: str
    generator: nn.Module | None  # None when resuming: the run's own state holds the weights

    @classmethod
    def read(cls, path: str | Path, with_weights: bool) -> "StartingPoint":
        path = Path(path)
        generator, config = load_generator(path) if with_weights else (None, CheckpointConfig.read(path))
        return cls(path, config, file_sha256(path), generator)

    def provenance(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256}


class Trainer:
    """One training run. The constructor checks everything it can before step 1, in the order of its steps below."""

    def __init__(self, cfg: TrainConfig, resume: bool = False, scan: DatasetScan | None = None):
        self.dist, self.device = init_distributed(cfg.device)
        self.out = Path(cfg.out)
        self.cfg = self._settings(cfg, resume)
        self.local_batch = self.cfg.batch_size // self.dist.world
        self.base = StartingPoint.read(self.cfg.init_generator, with_weights=not resume) if self.cfg.init_generator else None
        self._read_data(scan)
        self._fit_networks_to_data()
        self._build_networks(resume)
        self._place_on_device()
        self._build_optimizers()
        self.step = 0
        self.wall_time = 0.0
        if resume:
            self._load_state(self.out / STATE_FILE)
        self._wrap_for_training()
        self._stop_signal = None
        self._last_saved = self.step  # named in the NaN message, so defined before any step runs

    # ---- construction, step by step -------------------------------------------------------
    def _settings(self, cfg: TrainConfig, resume: bool) -> TrainConfig:
        """The run's config (a resumed run's own, with the new step count and device), checked."""
        if resume:
            saved = TrainConfig.load(self.out / CONFIG_FILE)
            cfg = replace(saved, steps=cfg.steps, device=cfg.device, out=cfg.out, scheme=cfg.scheme or saved.scheme)
        cfg.validate()
        if cfg.batch_size % self.dist.world:
            raise ConfigError(f"--batch-size {cfg.batch_size} must be divisible by the {self.dist.world} processes")
        if cfg.r1_gamma > 0 and self.dist.enabled:
            raise ConfigError("--r1-gamma differentiates the discriminator twice, which DistributedDataParallel does not support; "
                              "train with one process")
        if cfg.oasis_weight > 0 and self.dist.enabled:
            raise ConfigError("--oasis-weight trains its critic in one process only; train with one process")
        return cfg

    def _read_data(self, scan: DatasetScan | None) -> None:
        """Every problem in the data is reported before step 1; what training will see is printed."""
        cfg = self.cfg
        scan = scan or scan_dataset(cfg.data, cfg.split, cfg.scheme or None)
        scan.pairs, self.held_out = held_out(scan.pairs, cfg.holdout_every)  # judged on afterwards, never trained on
        self.class_map = self._class_map(scan.scheme)
        self.data = PairedDataset(scan, augment=cfg.augment, seed=cfg.seed, class_map=self.class_map, in_memory=cfg.data_workers == 0)
        self._loader, self._loader_step = None, None
        if self.dist.is_main:
            lines, warnings = self.data.summary(Path(cfg.data), cfg.split)
            if self.held_out:
                lines.append(f"  held out of training (every {cfg.holdout_every}th {cfg.split} pair): {len(self.held_out)} pair{'s' if len(self.held_out) != 1 else ''}, "
                             f"{', '.join(p.stem for p in self.held_out[:6])}{', ...' if len(self.held_out) > 6 else ''}")
            print("\n".join(lines + [f"warning: {w}" for w in warnings]), flush=True)
        self.dataset = dataset_fingerprint(scan)  # provenance: which data, whatever folder it was read from
        if len(self.data) < cfg.batch_size:
            raise ConfigError(f"--batch-size {cfg.batch_size} is larger than the {len(self.data)} training pairs")
        self.scheme = scan.scheme
        self.codec = None
        if cfg.critic_codec:
            self.codec = read_compression([p.image_path for p in scan.pairs], {"split": cfg.split})
            if self.codec is None:
                raise ConfigError(f"--critic-codec: most {cfg.split} tiles in {cfg.data} are stored losslessly, so there is no codec to "
                                  "show the discriminator; train without it")

    def _class_map(self, data_scheme: ClassScheme) -> ClassMap | None:
        """The map from the data's classes to the starting generator's, when they differ (--class-map)."""
        if not self.cfg.class_map:
            return None
        return ClassMap.parse(self.cfg.class_map, data_scheme, self.base.config.scheme)

    def _fit_networks_to_data(self) -> None:
        """The networks' sizes: a starting generator's architecture, and as many input classes as the network's classes."""
        cfg = self.cfg
        if self.base is not None and self.base.generator is not None:
            if self.class_map is None:
                try:
                    check_same_classes(self.base.config.scheme, self.scheme, str(self.base.path), "the data")
                except SchemeMismatch as e:
                    raise CheckpointError(f"{e}, or map your classes onto its with --class-map, e.g. "
                                          f"{suggested_class_map(self.scheme, self.base.config.scheme)}") from None
            # The base's architecture, plus SPADE when asked for: it starts as the identity, so the base's output is kept.
            spade = "spade" if cfg.generator.decoder_norm == "spade" else self.base.generator.cfg.decoder_norm
            cfg = replace(cfg, generator=replace(self.base.generator.cfg, decoder_norm=spade))
        network_classes = self.class_map.target.num_classes if self.class_map else self.scheme.num_classes
        self.cfg = replace(cfg, generator=replace(cfg.generator, num_classes=network_classes),
                           discriminator=replace(cfg.discriminator, num_classes=network_classes))

    def _build_networks(self, resume: bool) -> None:
        """Seeded weights (pix2pix's initialisation), then the starting generator's and discriminator's where given."""
        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        self.G = build_generator(cfg.generator)
        self.D = build_discriminator(cfg.discriminator)
        init_weights(self.G)
        if self.base is not None and self.base.generator is not None:
            missing, unexpected = self.G.load_state_dict(self.base.generator.state_dict(), strict=False)
            if unexpected or any(".modulation." not in k for k in missing):  # only a SPADE layer added here may be new
                raise CheckpointError(f"{self.base.path}: its weights do not fit the generator being trained "
                                      f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        init_weights(self.D)
        if cfg.init_discriminator and not resume:
            self._load_discriminator(cfg.init_discriminator)
        # Its own initialisation (PyTorch's, under spectral norm), as OASIS trains it.
        self.D_seg = SegmentationCritic(cfg.generator.num_classes, cfg.oasis_ndf) if cfg.oasis_weight > 0 else None

    def _place_on_device(self) -> None:
        if self.device.type == "cuda":
            # CPU work is only data loading; several processes with all-core thread pools starved each
            # other 30-fold on a 16-core GPU host (5 vs 160 images/s).
            torch.set_num_threads(min(torch.get_num_threads(), 4))
        self.precision = resolve_precision("auto" if self.cfg.bf16 else "fp32", self.device)
        self.fmt = fast_memory_format(self.device, self.precision) if self.cfg.channels_last else torch.contiguous_format
        self.G.to(self.device, memory_format=self.fmt)
        self.D.to(self.device, memory_format=self.fmt)
        if self.D_seg is not None:
            self.D_seg.to(self.device, memory_format=self.fmt)
        self.autocast = autocast(self.device, self.precision)

    def _build_optimizers(self) -> None:
        cfg = self.cfg
        # The average is what gets saved and sampled: it smooths the step-to-step swings of GAN training.
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False) if cfg.ema_decay > 0 else None
        self.g_opt = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.d_opt = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.d_seg_opt = torch.optim.Adam(self.D_seg.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2)) if self.D_seg is not None else None
        self.generator_loss = GeneratorLoss(cfg.l1_weight, cfg.diversity_weight, cfg.feature_matching_weight)

    def _wrap_for_training(self) -> None:
        """What the steps run: DDP across processes, compiled when asked; saving and sampling use the plain modules."""
        self.G_train, self.D_train = self.G, self.D
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            # Per-sample normalisation never mixes samples, so plain DDP matches one process exactly.
            # The innermost down conv feeds a 1x1 map that per-sample normalisation flattens to beta (as BatchNorm
            # does at the paper's batch size 1), so its weights get no gradient.
            self.G_train = nn.parallel.DistributedDataParallel(self.G, device_ids=ids, broadcast_buffers=False, find_unused_parameters=True)
            self.D_train = nn.parallel.DistributedDataParallel(self.D, device_ids=ids, broadcast_buffers=False)
        if self.cfg.compile:
            self.G_train, self.D_train = torch.compile(self.G_train), torch.compile(self.D_train)
        # What judges the tiles: the discriminator, seen through DiffAugment when asked (its update and the generator's).
        policy = parse_policy(self.cfg.diffaugment)
        self.critic_train = AugmentedCritic(self.D_train, policy) if policy else self.D_train
        self.critic = AugmentedCritic(self.D, policy) if policy else self.D

    def _load_discriminator(self, path: str) -> None:
        try:
            state = load_file(path)
            self.D.load_state_dict(state)
        except (OSError, RuntimeError, SafetensorError) as e:
            raise CheckpointError(f"{path}: not a discriminator for this {self.cfg.discriminator.arch} network ({e})") from None

    # ---- state -------------------------------------------------------------------------
    def _state(self) -> dict:
        return {
            "step": self.step,
            "wall_time": self.wall_time,
            "G": self.G.state_dict(),
            "G_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
            "D": self.D.state_dict(),
            "g_opt": self.g_opt.state_dict(),
            "d_opt": self.d_opt.state_dict(),
            **({"D_seg": self.D_seg.state_dict(), "d_seg_opt": self.d_seg_opt.state_dict()} if self.D_seg is not None else {}),
            "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
            "cpu_rng": torch.get_rng_state(),
        }

    def _load_state(self, path: Path) -> None:
        if not path.exists():
            raise ConfigError(f"cannot resume: {path} does not exist (was the run started with --out {self.out}?)")
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.G.load_state_dict(state["G"])
        if self.G_ema is not None:
            # A run that had no average yet (EMA switched on at resume) starts it from the current weights.
            self.G_ema.load_state_dict(state["G_ema"] if state.get("G_ema") is not None else state["G"])
        self.D.load_state_dict(state["D"])
        self.g_opt.load_state_dict(state["g_opt"])
        self.d_opt.load_state_dict(state["d_opt"])
        if self.D_seg is not None:
            self.D_seg.load_state_dict(state["D_seg"])
            self.d_seg_opt.load_state_dict(state["d_seg_opt"])
        self.step, self.wall_time = int(state["step"]), float(state.get("wall_time", 0.0))
        torch.set_rng_state(state["cpu_rng"])
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)

    def save_checkpoint(self) -> Path:
        """Resumable state plus a loadable generator, each written atomically (rank 0 only)."""
        if not self.dist.is_main:
            return self.out / GENERATOR_FILE
        self.out.mkdir(parents=True, exist_ok=True)
        state = self._state()
        atomic_write(self.out / STATE_FILE, lambda tmp: torch.save(state, tmp))
        provenance = {
            "data": str(self.cfg.data),
            "dataset": self.dataset,
            **({"base_checkpoint": self.base.provenance(), "class_map": self.class_map.describe()} if self.base and self.class_map else
               {"base_checkpoint": self.base.provenance()} if self.base else {}),
            "split": self.cfg.split,
            **({"held_out": [p.stem for p in self.held_out]} if self.held_out else {}),
            "steps": self.step,
            **({"total_steps": self.base.config.steps + self.step} if self.base and self.base.config.steps is not None else {}),  # with the base's
            "disc": self.cfg.discriminator.arch,
            "commit": git_commit(),
            "device": describe_device(self.device),
            "precision": self.precision,
            "processes": self.dist.world,
            "wall_time_s": round(self.wall_time, 1),
            "train_config": self.cfg.to_dict(),
        }
        G, exported = self.exported_generator, provenance
        if self.G_ema is not None:  # the raw weights too, so the average can be shown to help
            exported = {**provenance, "ema_decay": self.cfg.ema_decay}
            save_generator(self.out / RAW_GENERATOR_FILE, self.G, self.scheme, provenance, half=self.cfg.half_weights, class_map=self.class_map)
        save_generator(self.out / GENERATOR_FILE, G, self.scheme, exported, half=self.cfg.half_weights, class_map=self.class_map)
        atomic_write(self.out / DISCRIMINATOR_FILE, lambda tmp: save_file({k: v.detach().cpu().contiguous() for k, v in self.D.state_dict().items()}, tmp))
        if self.cfg.keep_snapshots:
            save_generator(self.out / f"generator-step{self.step:06d}.safetensors", G, self.scheme, exported, half=self.cfg.half_weights,
                           class_map=self.class_map)
        return self.out / GENERATOR_FILE

    @property
    def exported_generator(self) -> nn.Module:
        """The weights that are saved and sampled: the moving average when there is one."""
        return self.G_ema if self.G_ema is not None else self.G

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = self.cfg.ema_decay
        for avg, p in zip(self.G_ema.parameters(), self.G.parameters()):
            avg.lerp_(p, 1.0 - decay)
        for avg, b in zip(self.G_ema.buffers(), self.G.buffers()):
            avg.copy_(b)

    # ---- one step ----------------------------------------------------------------------
    def _batch(self):
        epoch, idx = batch_indices(len(self.data), self.cfg.batch_size, self.cfg.seed, self.step)
        self.data.set_epoch(epoch)
        lo = self.dist.rank * self.local_batch
        mine = idx[lo : lo + self.local_batch]
        if self.cfg.data_workers:
            onehot, real = self._next_loaded_batch()
        else:
            onehot, real = (torch.stack(t) for t in zip(*(self.data[i] for i in mine)))
        onehot = onehot.to(self.device, non_blocking=True).contiguous(memory_format=self.fmt)
        real = real.to(self.device, non_blocking=True).contiguous(memory_format=self.fmt)
        rngs = None
        if self.cfg.seeded_noise:
            # Noise keyed by (seed, step, position in the global batch): the same for 1 or N processes.
            rngs = [torch_generator(self.cfg.seed, self.step, lo + j, 0) for j in range(len(mine))]
        return onehot, real, rngs, [lo + j for j in range(len(mine))]

    def _next_loaded_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """This step's batch from the loader workers, which read ahead; the same items and augmentations as in memory."""
        if self._loader is None or self._loader_step != self.step:  # first use, or out of step (resumed, or asked twice)
            sampler = _StepBatches(len(self.data), self.cfg.batch_size, self.cfg.seed, self.step, self.dist.rank * self.local_batch, self.local_batch)
            self._loader = iter(torch.utils.data.DataLoader(self.data, batch_sampler=sampler, num_workers=self.cfg.data_workers))
            self._loader_step = self.step
        onehot, real = next(self._loader)
        self._loader_step += 1
        return onehot, real

    def train_step(self) -> dict:
        cfg = self.cfg
        onehot, real, rngs, positions = self._batch()
        n = onehot.shape[0]
        self._set_learning_rate()
        if self.step < cfg.d_warmup_steps:
            return self._discriminator_only_step(onehot, real, rngs)
        if self.generator_loss.diverse:
            # Two noise draws per mask in one forward pass (DDP wants one forward per backward).
            onehot_g = torch.cat([onehot, onehot])
            rngs_g = rngs + [torch_generator(cfg.seed, self.step, p, 1) for p in positions] if rngs else None
        else:
            onehot_g, rngs_g = onehot, rngs
        with self.autocast:
            fakes = self.G_train(onehot_g, rngs_g)
        fakes_seen = self._through_codec(fakes)  # what the critic sees; L1 and diversity use the network's own output
        loss_d = self._discriminator_update(onehot, real, fakes_seen[:n].detach())
        loss_seg = self._segmentation_critic_update(onehot, real, fakes_seen[:n].detach()) if self.D_seg is not None else None

        for p in self.D.parameters():
            p.requires_grad_(False)
        self.g_opt.zero_grad(set_to_none=True)
        loss_g, terms = self.generator_loss(self.critic, onehot, onehot_g, real, fakes, fakes_seen, self.autocast)
        if self.D_seg is not None:
            for p in self.D_seg.parameters():
                p.requires_grad_(False)
            with self.autocast:
                seg_logits = self.D_seg(fakes_seen)
            loss_g = loss_g + self.cfg.oasis_weight * segmentation_loss(seg_logits, onehot_g, real=True)
        self._check_finite(loss_g, "generator")
        loss_g.backward()
        self.g_opt.step()
        if self.G_ema is not None:
            self._update_ema()
        self.step += 1
        return self._losses(loss_d, terms.gan, terms.l1, terms.diversity, terms.feature_matching, loss_seg)

    def _through_codec(self, images: torch.Tensor) -> torch.Tensor:
        """With --critic-codec: the tiles as 8-bit images through the training tiles' JPEG encoding, with the gradient of the
        identity (straight-through), since the codec has none. The real tiles carry that encoding; without it the critic
        can win on codec artefacts alone (measured on the shipped -resize critics: docs/results.md)."""
        if self.codec is None:
            return images
        coded = torch.stack([image_to_tensor(a) for a in self.codec.apply(tensor_to_images(images))])
        coded = coded.to(self.device, dtype=images.dtype, memory_format=self.fmt)
        return images + (coded - images).detach()

    def learning_rate(self, step: int) -> float:
        """The rate for the update that makes step `step + 1`: constant, then linear to zero over the last lr_decay_steps.
        A function of the step alone, so a resumed run continues the same schedule."""
        cfg = self.cfg
        if cfg.lr_decay_steps == 0:
            return cfg.lr
        return cfg.lr * min(1.0, (cfg.steps - step) / cfg.lr_decay_steps)

    def _set_learning_rate(self) -> None:
        lr = self.learning_rate(self.step)
        for opt in (self.g_opt, self.d_opt):
            for group in opt.param_groups:
                group["lr"] = lr

    def _discriminator_update(self, onehot: torch.Tensor, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Real and fake in one pass (per-sample normalisation keeps them independent)."""
        n = onehot.shape[0]
        for p in self.D.parameters():
            p.requires_grad_(True)
        self.d_opt.zero_grad(set_to_none=True)
        with self.autocast:
            logits = self.critic_train(torch.cat([onehot, onehot]), torch.cat([real, fake]))
        loss_d = 0.5 * (gan_loss(logits[:n], True) + gan_loss(logits[n:], False))
        self._check_finite(loss_d, "discriminator")
        (loss_d + self._r1_penalty(onehot, real) if self.cfg.r1_gamma > 0 else loss_d).backward()
        self.d_opt.step()
        return loss_d

    def _segmentation_critic_update(self, onehot: torch.Tensor, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The OASIS-style critic: real pixels to their mask class (class-balanced), generated ones to 'generated', plus
        LabelMix; returns the loss without the LabelMix term."""
        for p in self.D_seg.parameters():
            p.requires_grad_(True)
        self.d_seg_opt.zero_grad(set_to_none=True)
        n = onehot.shape[0]
        with self.autocast:
            logits = self.D_seg(torch.cat([real, fake]))
            mix = labelmix(self.D_seg, onehot, real, fake, logits[:n], logits[n:])
        loss = segmentation_loss(logits[:n], onehot, real=True) + segmentation_loss(logits[n:], onehot, real=False)
        self._check_finite(loss, "OASIS critic")
        (loss + LABELMIX_WEIGHT * mix).backward()
        self.d_seg_opt.step()
        return loss.detach()

    def _r1_penalty(self, onehot: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """R1 (Mescheder et al. 2018): gamma/2 E|grad_x D(mask, x)|^2 on the real tiles, in fp32 since it is differentiated
        twice. D is each tile's mean logit, so gamma means the same for PatchGAN's 30x30 map as for vanilla's one logit.
        Only the image gets the gradient: the mask is the condition, not a sample."""
        real = real.detach().float().requires_grad_(True)
        logits = self.D_train(onehot.float(), real)
        (grad,) = torch.autograd.grad(logits.flatten(1).mean(1).sum(), real, create_graph=True)
        penalty = 0.5 * self.cfg.r1_gamma * grad.square().flatten(1).sum(1).mean()
        self._check_finite(penalty, "R1")
        return penalty

    def _discriminator_only_step(self, onehot: torch.Tensor, real: torch.Tensor, rngs) -> dict:
        with torch.no_grad(), self.autocast:
            fake = self.G(onehot, rngs)  # the plain module: DDP's reducer expects a backward after its forward
        seen = self._through_codec(fake)
        loss_d = self._discriminator_update(onehot, real, seen)
        loss_seg = self._segmentation_critic_update(onehot, real, seen) if self.D_seg is not None else None
        self.step += 1
        zero = torch.zeros((), device=self.device)
        return self._losses(loss_d, zero, (fake.float() - real.float()).abs().mean(), zero, zero, loss_seg)

    def _losses(self, loss_d, loss_gan, loss_l1, loss_div, loss_fm, loss_oasis_d=None) -> dict:
        losses = torch.stack([t.detach().float() for t in (loss_d, loss_gan, loss_l1, loss_div, loss_fm)])
        logged = dict(zip(("loss_d", "loss_g_gan", "loss_l1", "loss_div", "loss_fm"), self.dist.all_mean(losses).tolist()))
        return {**logged, "loss_oasis_d": loss_oasis_d.item()} if loss_oasis_d is not None else logged

    def _check_finite(self, loss: torch.Tensor, which: str) -> None:
        bad = torch.tensor([0.0 if torch.isfinite(loss).all() else 1.0], device=self.device)
        if self.dist.enabled:
            torch.distributed.all_reduce(bad)
        if bad.item():
            raise TrainingError(
                f"the {which} loss became {loss.item()} at step {self.step + 1}; stopped without saving this step. "
                f"The last good checkpoint is {self.out / GENERATOR_FILE} (step {self._last_saved}). "
                f"Try a lower --lr or --l1-weight, or resume from it."
            )

    # ---- samples -------------------------------------------------------------------------
    def _sample_inputs(self, count: int = 4):
        scan = scan_dataset(self.cfg.data, self.cfg.sample_split, self.scheme, check_content=False)
        if not scan.pairs:
            scan = scan_dataset(self.cfg.data, self.cfg.split, self.scheme, check_content=False)
        pairs = scan.pairs[:count]
        masks = [read_mask(p.mask_path, self.scheme)[:TILE, :TILE] for p in pairs]
        reals = [read_rgb(p.image_path)[:TILE, :TILE] for p in pairs]
        return masks, reals

    def write_samples(self) -> Path | None:
        if not self.dist.is_main:
            return None
        path = self.out / "samples" / f"step_{self.step:06d}.png"
        synth = Synthesizer(self.exported_generator, self.scheme, self.device, class_map=self.class_map, precision=self.precision,
                            memory_format=self.fmt)  # the training layout stays as it is
        try:
            write_sample_grid(path, sample_grid(synth, *self._samples))
        finally:
            self.G.train()
        return path

    # ---- the loop ------------------------------------------------------------------------
    def _on_signal(self, signum, frame):
        self._stop_signal = signum

    def run(self) -> Path:
        cfg = self.cfg
        main = self.dist.is_main
        if main:
            self.out.mkdir(parents=True, exist_ok=True)
            cfg.save(self.out / CONFIG_FILE)
            self._samples = self._sample_inputs()
        try:
            old_handler = signal.signal(signal.SIGTERM, self._on_signal)
        except ValueError:  # not the main thread (e.g. fine-tuning inside the app): no signal handling there
            old_handler = None
        metrics = open(self.out / "metrics.jsonl", "a") if main else None
        bar = tqdm(total=cfg.steps, initial=self.step, desc="train", unit="step", disable=not main, dynamic_ncols=True)
        self.G_train.train()
        self.D_train.train()
        t_last, images_since = time.perf_counter(), 0
        try:
            while self.step < cfg.steps:
                t0 = time.perf_counter()
                losses = self.train_step()
                self.wall_time += time.perf_counter() - t0
                images_since += cfg.batch_size
                if main and (self.step % cfg.log_every == 0 or self.step == cfg.steps):
                    now = time.perf_counter()
                    ips = images_since / max(now - t_last, 1e-9)
                    t_last, images_since = now, 0
                    record = {"step": self.step, **{k: round(v, 5) for k, v in losses.items()}, "images_per_s": round(ips, 2), "lr": self.g_opt.param_groups[0]["lr"], "wall_time_s": round(self.wall_time, 1)}
                    metrics.write(json.dumps(record) + "\n")
                    metrics.flush()
                    bar.set_postfix(d=f"{losses['loss_d']:.3f}", g=f"{losses['loss_g_gan']:.3f}", l1=f"{losses['loss_l1']:.3f}", ips=f"{ips:.1f}")
                bar.update(1)
                if self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
                    self.save_checkpoint()
                    self._last_saved = self.step
                if self.step % cfg.sample_every == 0 and self.step < cfg.steps:
                    self.write_samples()
                if self._stop_signal is not None:
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            self.save_checkpoint()
            if main:
                print(f"\nstopped at step {self.step}; saved a resumable checkpoint. Continue with: python -m pathgan train --resume {self.out}")
            raise
        finally:
            bar.close()
            if metrics:
                metrics.close()
            if old_handler is not None:
                signal.signal(signal.SIGTERM, old_handler)
        path = self.save_checkpoint()
        self.write_samples()
        shutdown(self.dist)
        return path
