import pytest
import torch

from pathgan.models import (
    DiscriminatorConfig, GeneratorConfig, build_discriminator, build_generator, count_parameters, use_running_stats,
)


def test_generator_is_exactly_table_1():
    g = build_generator(GeneratorConfig(deep_noise=0))
    assert count_parameters(g) == 54_427_907
    biased = [n for n, m in g.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) and m.bias is not None]
    assert biased == ["last"]  # only the last conv has a bias
    assert g.down[0].conv.in_channels == 5  # 4 one-hot classes + 1 noise channel
    assert isinstance(g.down[0].norm, torch.nn.Identity) and all(not isinstance(b.norm, torch.nn.Identity) for b in g.down[1:])
    assert [b.dropout is not None for b in g.up] == [True] * 3 + [False] * 4


def test_deep_noise_adds_only_per_channel_strengths():
    extra = count_parameters(build_generator(GeneratorConfig())) - 54_427_907
    assert extra == 512 * 4 + 256 + 128 + 64


def test_discriminators_match_tables_2_and_3():
    patch = build_discriminator(DiscriminatorConfig(arch="patchgan"))
    vanilla = build_discriminator(DiscriminatorConfig(arch="vanilla"))
    assert count_parameters(patch) == 2_771_457
    assert count_parameters(vanilla) == 2_779_649  # see VanillaDiscriminator's docstring for the paper's 3,816,961
    x, y = torch.zeros(2, 4, 256, 256), torch.zeros(2, 3, 256, 256)
    assert patch(x, y).shape == (2, 1, 30, 30)
    assert vanilla(x, y).shape == (2, 1)


def test_shapes_width_multiplier_and_other_class_counts():
    g = build_generator(GeneratorConfig(ngf=8, num_classes=6))
    out = g(torch.zeros(1, 6, 256, 256))
    assert out.shape == (1, 3, 256, 256) and out.abs().max() <= 1
    assert g.down[0].conv.in_channels == 7
    assert count_parameters(g) < count_parameters(build_generator(GeneratorConfig(ngf=16, num_classes=6)))
    d = build_discriminator(DiscriminatorConfig(ndf=8, num_classes=6))
    assert d(torch.zeros(1, 6, 256, 256), out).shape == (1, 1, 30, 30)
    r = build_generator(GeneratorConfig(ngf=8, upsample="resize"))
    assert r(torch.zeros(1, 4, 256, 256)).shape == (1, 3, 256, 256)


def test_networks_are_built_by_name_only():
    with pytest.raises(ValueError, match="unknown generator 'resnet'"):
        build_generator(GeneratorConfig(arch="resnet"))
    with pytest.raises(ValueError, match="unknown discriminator"):
        build_discriminator(DiscriminatorConfig(arch="global"))


def test_normalisation_uses_no_batch_statistics():
    torch.manual_seed(0)
    g = build_generator(GeneratorConfig(ngf=4, dropout=0.0, deep_noise=0, noise_channels=0)).eval()
    x = torch.rand(3, 4, 256, 256)
    with torch.no_grad():
        together = g(x)
        alone = torch.cat([g(x[i : i + 1]) for i in range(3)])
    assert torch.allclose(together, alone, atol=1e-6)
    use_running_stats(g, True)  # eval-mode running statistics: the classic pix2pix pitfall, kept for comparison
    with torch.no_grad():
        assert not torch.allclose(g(x[:1]), alone[:1], atol=1e-3)
