"""Every setting of a run, and the named presets built from them; imports nothing else of attn.

    configs   DataConfig, ModelConfig, TrainConfig, RunConfig: frozen, with their ranges checked where
              they are made; the variant, family and encoding names; MODEL_ORDER; the server's limits
    presets   PRESETS (lecture, tiny, length, corpus), `length_configs` and `preset(name)`

Callers import from here (`from attn.config import RunConfig, PRESETS`).
"""
from attn.config.configs import (ARCH_LABELS, ARCHS, FAMILIES, MODEL_ORDER, NEW_FIELDS, POSITIONS, STYLES, VARIANTS,
                                 ConfigError, DataConfig, ModelConfig, RunConfig, TrainConfig, env_int, limits,
                                 model_label, replace)
from attn.config.presets import (CORPUS_DATA, LENGTH_TRANSFORMER, LENGTH_VARIANTS, PRESETS, length_configs, on_corpus,
                                 preset, preset_data)

__all__ = ["ARCHS", "ARCH_LABELS", "CORPUS_DATA", "FAMILIES", "LENGTH_TRANSFORMER", "LENGTH_VARIANTS", "MODEL_ORDER",
           "NEW_FIELDS", "POSITIONS", "PRESETS", "STYLES", "VARIANTS", "ConfigError", "DataConfig", "ModelConfig",
           "RunConfig", "TrainConfig", "env_int", "length_configs", "limits", "model_label", "on_corpus", "preset",
           "preset_data", "replace"]
