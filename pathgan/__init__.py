"""PathGAN: draw or upload a nucleus-class mask, get realistic synthetic H&E tiles."""

__version__ = "0.1.0"
