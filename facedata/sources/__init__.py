"""Dataset readers, one module per source. ``get_source(config)`` builds one by name."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Source, SourceConfig
from .celeba_hq import CelebAHQ
from .celebamask_hq import CelebAMaskHQ
from .demo import Demo
from .folder import Folder

SOURCES: dict[str, type[Source]] = {cls.name: cls for cls in (CelebAMaskHQ, CelebAHQ, Folder, Demo)}


def get_source(config: SourceConfig) -> Source:
    """Instantiate the source named by ``config.name``."""
    try:
        return SOURCES[config.name](config)
    except KeyError:
        raise ConfigError(
            f"unknown source {config.name!r}; choose one of {', '.join(sorted(SOURCES))}"
        ) from None


__all__ = ["SOURCES", "Source", "SourceConfig", "get_source"]
