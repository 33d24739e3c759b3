"""Training: the paper's recipe (Adam 2e-4, beta1 0.5, GAN + 100 x L1), resumable and DDP-ready."""
