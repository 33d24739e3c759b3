"""PathGAN: draw or upload a nucleus-class mask, get realistic synthetic H&E tiles."""
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

__version__ = "0.1.0"

DEFAULT_DATA_ROOT = "../shared/data"


def data_root() -> str:
    """Where datasets live: $PATHGAN_DATA, default ../shared/data beside the project's root."""
    env = os.environ.get("PATHGAN_DATA")
    if env:
        return env
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.normpath(os.path.join(here, DEFAULT_DATA_ROOT))
