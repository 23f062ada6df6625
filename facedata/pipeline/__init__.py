"""The build pipeline: source → stages → shard writer, spread over an executor.

``build(config, source_config, stage_configs)`` is the whole job; the CLI only fills configs.
"""

from .build import BuildReport, build
from .config import BuildConfig

__all__ = ["BuildConfig", "BuildReport", "build"]
