import torch

from pathgan.models.segmentation_critic import SegmentationCritic, balanced_weights, labelmix, labels_of, segmentation_loss
from pathgan.tensors import mask_to_onehot


def masks():
    ids = torch.zeros(2, 32, 32, dtype=torch.long)
    ids[:, 4:12, 4:12] = 1
    ids[1, 20:22, 20:22] = 3
    return ids, mask_to_onehot(ids, 3)


def test_labels_weights_and_the_generated_class():
    ids, onehot = masks()
    assert torch.equal(labels_of(onehot), ids)
    weights = balanced_weights(ids, 5)
    # Each present class carries the same total weight, whatever its size: 3 classes present.
    for c in (0, 1, 3):
        assert torch.isclose(weights[ids == c].sum(), torch.tensor(ids.numel() / 3))
    critic = SegmentationCritic(num_classes=3, ndf=4)
    logits = critic(torch.zeros(2, 3, 32, 32))
    assert logits.shape == (2, 5, 32, 32) and critic.fake_label == 4
    # A critic that says 'generated' everywhere wins on generated tiles and loses on real ones.
    says_fake = torch.full((2, 5, 32, 32), -10.0)
    says_fake[:, 4] = 10.0
    assert segmentation_loss(says_fake, onehot, real=False) < 1e-3 < 10 < segmentation_loss(says_fake, onehot, real=True)


def test_labelmix_is_zero_for_a_critic_that_judges_each_pixel_by_itself():
    torch.manual_seed(0)
    ids, onehot = masks()
    pixelwise = torch.nn.Conv2d(3, 5, 1)  # no context: its output on a mix is the mix of its outputs
    real, fake = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    assert labelmix(pixelwise, onehot, real, fake, pixelwise(real), pixelwise(fake)) < 1e-10
    critic = SegmentationCritic(num_classes=3, ndf=4)
    assert labelmix(critic, onehot, real, fake, critic(real), critic(fake)) > 0
