"""One SC-FEGAN optimisation step (discriminator, then generator) and its resumable state."""

from __future__ import annotations

import contextlib
import logging

import torch

from ..seeding import sample_rng
from .config import TrainConfig
from .distributed import average_gradients
from .losses import discriminator_loss, generator_loss, gradient_penalty
from .networks import Discriminator, Generator, composite, discriminator_input, generator_input
from .vgg import VGGFeatures

log = logging.getLogger(__name__)

INPUTS = ("image", "mask", "sketch", "color")


class Trainer:
    """SC-FEGAN's generator and discriminator with their optimisers.

    Every random draw of a step (the noise input, the gradient-penalty interpolation) comes
    from a generator seeded by (seed, rank, step), so a resumed trainer takes exactly the
    step the original would have taken, and ranks draw different noise.

    Under ``torchrun`` every rank builds the same initial weights (from ``seed``) and
    :func:`~facedata.train.distributed.average_gradients` keeps them equal.

    Parameters
    ----------
    config : TrainConfig
    device : torch.device
    vgg : VGGFeatures or None
        Feature extractor of the perceptual and style losses; ``None`` turns them off.
    rank, world_size : int
        This process's place in a data-parallel job (0 and 1: alone).
    """

    def __init__(
        self,
        config: TrainConfig,
        device: torch.device,
        vgg: VGGFeatures | None,
        *,
        rank: int = 0,
        world_size: int = 1,
    ):
        self.config, self.device, self.vgg = config, device, vgg
        self.rank, self.world_size = rank, world_size
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.generator = Generator(config.cnum, config.size).to(device)
            self.discriminator = Discriminator(config.cnum).to(device)
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), config.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), config.lr, betas=betas)
        self.amp_dtype = None
        if config.amp and device.type == "cuda":
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        # bf16 has fp32's range: only fp16 needs its gradients scaled.
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp_dtype == torch.float16)
        self.noise_seed = config.seed
        self.step_count = 0

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed precision for the forward passes (a no-op on CPU or with ``amp`` off)."""
        enabled = self.amp_dtype is not None
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=enabled)

    def _draw(self, rng: torch.Generator, shape: tuple[int, ...], normal: bool) -> torch.Tensor:
        draw = torch.randn if normal else torch.rand
        return draw(shape, generator=rng).to(self.device)

    def _update(self, optimizer: torch.optim.Optimizer, model: torch.nn.Module) -> None:
        # Scaled gradients average like unscaled ones, and an inf on one rank reaches all,
        # so every rank skips the same fp16 steps.
        average_gradients(model, self.world_size)
        self.scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), self.config.grad_clip)
        self.scaler.step(optimizer)

    def step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One discriminator and one generator update on a batch.

        Parameters
        ----------
        batch : dict
            ``image`` and ``color`` (B, 3, H, W) in [-1, 1], ``mask`` and ``sketch``
            (B, 1, H, W) in {0, 1}, as :class:`facedata.data.ShardDataset` gives them.

        Returns
        -------
        dict
            Detached scalar tensors: the discriminator's terms (``d``, ``d_real``, ``d_fake``,
            ``gp``, ``drift``) and the generator's (``g``, ``ppxl``, ``adv``, ``tv`` and, with
            VGG, ``percept``, ``style``).
        """
        image, mask, sketch, color = (batch[k].to(self.device) for k in INPUTS)
        weights = self.config.losses
        draws = sample_rng(self.noise_seed, f"rank-{self.rank}", "train-noise", self.step_count)
        rng = torch.Generator().manual_seed(int(draws.integers(2**63)))
        noise = self._draw(rng, mask.shape, normal=True)
        alpha = self._draw(rng, (image.shape[0], 1, 1, 1), normal=False)
        with self.autocast():
            output = self.generator(generator_input(image, mask, sketch, color, noise)).float()
        comp = composite(output, image, mask)

        # Discriminator: real, composited and interpolated images in one forward pass.
        self.discriminator.requires_grad_(True)
        fake = comp.detach()
        mixed = (alpha * image + (1 - alpha) * fake).requires_grad_(True)
        with self.autocast():
            scores = self.discriminator(
                torch.cat(
                    [discriminator_input(x, mask, sketch, color) for x in (image, fake, mixed)]
                )
            ).float()
        d_real, d_fake, d_mixed = scores.chunk(3)
        # The critic of an image is its mean patch score; scaled as the loss is (fp16 AMP).
        (grad,) = torch.autograd.grad(
            self.scaler.scale(d_mixed.mean(1).sum()), mixed, create_graph=True
        )
        gp = gradient_penalty(grad / self.scaler.get_scale())
        d_terms = discriminator_loss(d_real, d_fake, gp, weights)
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(d_terms["d"]).backward()
        self._update(self.opt_d, self.discriminator)

        # Generator: the discriminator is a fixed function here.
        self.discriminator.requires_grad_(False)
        features = None
        with self.autocast():
            d_comp = self.discriminator(discriminator_input(comp, mask, sketch, color))
            if self.vgg is not None:
                with torch.no_grad():  # the target's features need no backward pass
                    target = self.vgg(image)
                pools = self.vgg(torch.cat([output, comp]))
                features = (*zip(*(p.chunk(2) for p in pools)), target)
        g_terms = generator_loss(output, image, mask, d_comp, weights, features)
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(g_terms["g"]).backward()
        self._update(self.opt_g, self.generator)
        self.scaler.update()
        self.step_count += 1
        return {k: v.detach() for k, v in {**d_terms, **g_terms}.items()}

    def state_dict(self) -> dict:
        """Everything needed to continue: weights, optimisers (unless ``save_optimizer`` is
        off), loss scale, noise seed, step."""
        state = {
            "step": self.step_count,
            "config": self.config.to_dict(),
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "scaler": self.scaler.state_dict(),
            "noise_seed": self.noise_seed,
        }
        if self.config.save_optimizer:
            state |= {"opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (tensors are moved to this trainer's device)."""
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        if "opt_g" in state:
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
        elif self.rank == 0:  # one warning for the whole job
            log.warning(
                "the checkpoint holds no optimiser state (saved with --no-save-optimizer): "
                "Adam starts afresh"
            )
        if state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        self.noise_seed = state.get("noise_seed", state["config"]["seed"])
        self.step_count = state["step"]
