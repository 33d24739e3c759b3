"""Nucleus segmentation for the downstream benchmark (`python -m pathgan segbench`) and for mask fidelity in `evaluate`."""
