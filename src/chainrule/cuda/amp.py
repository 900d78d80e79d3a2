"""``chainrule.cuda.amp``: torch's deprecated spellings ``torch.cuda.amp.GradScaler`` and
``torch.cuda.amp.autocast``; without CUDA both disable themselves with torch's warning, so
scripts that create them unconditionally (nanoGPT's ``GradScaler(enabled=dtype == "float16")``)
run in float32 as on a CPU build of torch."""

from __future__ import annotations

import warnings

from .. import amp as _amp


class GradScaler(_amp.GradScaler):
    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        warnings.warn("`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`torch.amp.GradScaler('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)


class autocast(_amp.autocast):  # noqa: N801  (torch's name)
    def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True) -> None:
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
