"""Loading configs: YAML files and ``key=value`` overrides into typed dataclasses, checked.

Every section class (and every class it inherits from) may define ``validate()``, which
checks that class's own fields; :func:`validate` runs them all, along each section's MRO,
before any training starts.
"""

import dataclasses
import difflib
import os
import types
import typing

import yaml

from kerapre.errors import ConfigError


def check(condition, message):
    """Raises ``ConfigError(message)`` unless ``condition``."""
    if not condition:
        raise ConfigError(message)


def from_dict(cls, values, *, where=""):
    """Builds config ``cls`` from a (possibly partial, nested) dict, checking names and types."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{where or 'config'} must be a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(_unknown_key_message(where + key, key, fields))
        kwargs[key] = _coerce(hints[key], value, where=f"{where}{key}")
    return cls(**kwargs)


def _unknown_key_message(path, key, fields):
    close = difflib.get_close_matches(key, list(fields), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(fields)})"
    return f"unknown config key {path!r}{hint}"


def _coerce(hint, value, *, where):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        for arg in args[:-1]:  # the first type the value is (Union[bool, str]: true, or "auto")
            try:
                return _coerce(arg, value, where=where)
            except ConfigError:
                pass
        return _coerce(args[-1], value, where=where)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return [_coerce(item, v, where=f"{where}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(hint):
        if dataclasses.is_dataclass(value):
            return value
        return from_dict(hint, value, where=where + ".")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where} must be a number, got {value!r}")
    if hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where} must be a string, got {value!r}")
    return value


def to_dict(config):
    """The config as plain nested dicts (what ``save_config`` writes)."""
    return dataclasses.asdict(config)


def validate(config):
    """Checks every section: each class along a section's MRO that defines ``validate()``
    checks its own fields. Raises ``ConfigError`` on the first problem; returns ``config``."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            validate(value)
    for klass in reversed(type(config).__mro__):
        own = vars(klass).get("validate")
        if own is not None:
            own(config)
    return config


def apply_overrides(config, overrides):
    """Returns a copy of ``config`` with ``key=value`` overrides applied (values parse as YAML)."""
    values = to_dict(config)
    for item in overrides or ():
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not key=value (e.g. train.epochs=3)")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        node = values
        parts = key.strip().split(".")
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node.get(part), dict):
                raise ConfigError(
                    _unknown_key_message(".".join(parts[: depth + 1]), part,
                                         {k: None for k, v in node.items() if isinstance(v, dict)})
                )
            node = node[part]
        if parts[-1] not in node:
            raise ConfigError(_unknown_key_message(key.strip(), parts[-1], node))
        node[parts[-1]] = value
    return from_dict(type(config), values)


def load_config(cls, path=None, overrides=()):
    """Loads ``cls`` from an optional YAML file, applies overrides, validates and returns it."""
    values = {}
    if path:
        if not os.path.exists(path):
            raise ConfigError(f"config file {path} does not exist: check the --config path")
        with open(path, encoding="utf-8") as f:
            try:
                values = yaml.safe_load(f) or {}
            except yaml.YAMLError as error:
                mark = getattr(error, "problem_mark", None)
                at = f" at line {mark.line + 1}" if mark else ""
                raise ConfigError(f"config file {path} is not valid YAML{at}: fix its syntax") from None
    config = from_dict(cls, values)
    config = apply_overrides(config, overrides)
    return validate(config)


def save_config(config, path):
    """Writes ``config`` as YAML (atomically) so a run says how it was made."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        yaml.safe_dump(to_dict(config), f, sort_keys=False)
    os.replace(tmp, path)
