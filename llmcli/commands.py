"""What each CLI command does, apart from parsing (which is ``cli``).

Imported only when a command runs, so ``--help`` never pays for it.
"""

from __future__ import annotations

from . import config as C
from . import status
from .errors import ConfigError, UsageError
from .render import write_stdout

# -- styles -----------------------------------------------------------------------


def list_styles(config_path: str | None) -> None:
    from . import presets

    config = C.load(config_path)
    styles = presets.available(config.templates)
    rows = [("NAME", "SOURCE", "DESCRIPTION")]
    for style in styles.values():
        source = "built-in" if style.source == "built-in" else "template"
        if style.source != "built-in" and style.name in presets.BUILTIN_STYLES:
            source = "template (overrides built-in)"
        rows.append((style.name, source, style.description))
    width0 = max(len(r[0]) for r in rows)
    width1 = max(len(r[1]) for r in rows)
    write_stdout("".join(f"{a.ljust(width0)}  {b.ljust(width1)}  {c}".rstrip() + "\n" for a, b, c in rows))


def show_style(config_path: str | None, name: str) -> None:
    from . import presets

    config = C.load(config_path)
    write_stdout(presets.resolve(name, config.templates).instruction())


# -- profiles and models ----------------------------------------------------------


def list_profiles(config_path: str | None) -> None:
    from .providers import KINDS

    config = C.load(config_path)
    default = config.select().name
    rows = [("", "NAME", "PROVIDER", "MODEL", "BASE URL", "KEY")]
    for p in config.profiles.values():
        rows.append((
            "*" if p.name == default else "",
            p.name,
            KINDS[p.provider].name,
            p.model or "(server default)",
            p.base_url or "",
            p.key_status(),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    write_stdout("\n".join(lines) + "\n")
    if not config.exists:
        status.note(f"no config file at {config.path}: built-in profiles only (llmcli config init)")


def list_models(config_path: str | None, profile_name: str | None) -> None:
    from .call import Call, CallFlags
    from .errors import ConnectError
    from .providers import backend_for

    call = Call.resolve(CallFlags(profile=profile_name, config_path=config_path))
    backend = backend_for(call.endpoint())
    try:
        ids = backend.list_models()
    except ConnectError as err:
        raise call.no_provider(err) from None
    write_stdout("".join(f"{i}\n" for i in ids))


# -- config -----------------------------------------------------------------------


def config_path(explicit: str | None) -> None:
    path = C.config_path(explicit)
    write_stdout(f"{path}\n")
    if not path.exists():
        status.note("the file does not exist yet (llmcli config init)")


def config_show(explicit: str | None) -> None:
    import tomli_w

    config = C.load(explicit)
    where = str(config.path) + ("" if config.exists else " (missing: built-in profiles only)")
    write_stdout(f"# {where}\n" + tomli_w.dumps(C.masked_dict(config)))


def config_init(explicit: str | None, *, force: bool, profile: str | None) -> None:
    path = C.config_path(explicit)
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists (use --force to overwrite)")
    builtins = C.Config(path, False, None, C.builtin_profiles())
    name = profile or builtins.detect_default()
    if name not in builtins.profiles:
        builtins.profile(name)  # raises the "unknown profile" error with the list
    path.parent.mkdir(parents=True, exist_ok=True)
    from .atomic import atomic_write_text

    atomic_write_text(path, C.starter_toml(name), mode=0o600)
    status.note(f"wrote {path} (default profile: {name})")


def config_validate(explicit: str | None) -> None:
    config = C.load(explicit, strict=False)
    if not config.exists:
        write_stdout(f"{config.path}: no file; built-in profiles only — nothing to check\n")
        return
    if config.problems:
        for problem in config.problems:
            status.error(problem)
        raise SystemExitCode(2)
    write_stdout(f"{config.path}: ok ({len(config.profiles)} profiles)\n")


class SystemExitCode(UsageError):
    """Problems already reported line by line; exit non-zero without another message."""

    def __init__(self, code: int) -> None:
        super().__init__("")
        self.exit_code = code


def config_example() -> None:
    """The documented example shipped in the package: what a pip-installed user has instead of the repo's file."""
    write_stdout(C.example_text())
