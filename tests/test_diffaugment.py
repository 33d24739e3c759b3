import pytest
import torch

from pathgan.errors import ConfigError
from pathgan.training.diffaugment import AUGMENTS, AugmentedCritic, colour, cutout, parse_policy, translation


def pair(n=3, size=32):
    """A one-hot mask whose class 1 is a square, and an image that is that square in red: where one goes, so must the other."""
    onehot = torch.zeros(n, 2, size, size)
    onehot[:, 1, 8:20, 10:24] = 1
    onehot[:, 0] = 1 - onehot[:, 1]
    image = torch.full((n, 3, size, size), -1.0)
    image[:, 0] = onehot[:, 1] * 2 - 1
    return onehot, image


def test_translation_moves_mask_and_image_together_and_by_at_most_an_eighth():
    torch.manual_seed(0)
    onehot, image = pair(n=16)
    moved_mask, moved_image = translation(onehot, image)
    inside = moved_mask.sum(1) > 0  # zero-filled where the shift uncovered the border
    assert torch.equal((moved_image[:, 0] > 0) & inside, moved_mask[:, 1] > 0)
    shifts = set()
    for i in range(16):
        ys, xs = torch.nonzero(moved_mask[i, 1], as_tuple=True)
        dy, dx = int(ys.min()) - 8, int(xs.min()) - 10
        assert abs(dy) <= 4 and abs(dx) <= 4  # 32 px * 0.125
        assert moved_mask[i, 1].sum() == 12 * 14  # the square stays whole: the shift is at most 4 px from any border
        shifts.add((dy, dx))
    assert len(shifts) > 4  # drawn per tile


def test_cutout_blanks_the_same_square_in_mask_and_image():
    torch.manual_seed(1)
    onehot, image = pair(n=8)
    cut_mask, cut_image = cutout(onehot, torch.ones_like(image))
    holes_in_mask = cut_mask.sum(1) == 0
    holes_in_image = (cut_image == 0).all(1)
    assert torch.equal(holes_in_mask, holes_in_image)
    sizes = holes_in_mask.flatten(1).sum(1)
    assert (sizes > 0).all() and (sizes <= 16 * 16).all() and (sizes == 16 * 16).any()  # half the side, clipped at borders


def test_colour_changes_the_image_only_and_passes_the_gradient():
    torch.manual_seed(2)
    onehot, image = pair()
    image.requires_grad_(True)
    same_mask, recoloured = colour(onehot, image)
    assert same_mask is onehot
    assert not torch.allclose(recoloured, image)
    recoloured.sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_policy_names_are_checked():
    assert parse_policy("") == ()
    assert parse_policy(" color, cutout ") == ("color", "cutout")
    assert set(AUGMENTS) == {"color", "translation", "cutout"}
    with pytest.raises(ConfigError, match="unknown transform 'colour'.*color, translation, cutout"):
        parse_policy("colour")


def test_augmented_critic_reaches_the_generator_through_every_transform():
    torch.manual_seed(3)
    critic = torch.nn.Conv2d(5, 1, 3, padding=1)
    wrapped = AugmentedCritic(lambda onehot, image: critic(torch.cat([onehot, image], 1)), ("color", "translation", "cutout"))
    onehot, image = pair()
    image.requires_grad_(True)
    first, second = wrapped(onehot, image), wrapped(onehot, image)
    assert not torch.allclose(first, second)  # a fresh draw per call
    first.sum().backward()
    assert image.grad.abs().sum() > 0
