"""The alias files: the default shipped with newsetl, then the user's, which overrides it."""

from __future__ import annotations

from pathlib import Path

import yaml

from transforms.resolve import AliasFileError, AliasRules, parse_alias_rules

DEFAULT_ALIASES = Path(__file__).parent / "default_aliases.yaml"
USER_ALIASES = "aliases.yaml"


def read_alias_file(path: Path) -> AliasRules:
    """The rules of one YAML (or JSON) alias file.

    Raises:
        AliasFileError: the file cannot be read or parsed, or does not have the documented shape.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise AliasFileError(f"cannot read alias file {path}: {error}") from error
    return parse_alias_rules(data, source=str(path))


def load_alias_rules(data_dir: Path, aliases: Path | None) -> AliasRules:
    """Default rules plus the user's: `aliases` when given (it must exist), else
    DATA_DIR/aliases.yaml when that exists.

    Raises:
        AliasFileError: a given alias file is missing or malformed.
    """
    rules = read_alias_file(DEFAULT_ALIASES)
    user = Path(aliases) if aliases is not None else Path(data_dir) / USER_ALIASES
    if aliases is not None and not user.is_file():
        raise AliasFileError(f"alias file {user} does not exist: create it or fix --aliases / NEWSETL_ALIASES")
    return rules + read_alias_file(user) if user.is_file() else rules
