"""A call's credentials: where its API key comes from, and the check that key and headers can be sent.

Why it looks like this:
- The key is resolved only when a call needs one (never for ``--help``,
  ``profiles`` or ``config show``): inline ``api_key``, else ``api_key_cmd``'s
  first line, else the first set variable of ``api_key_env``.
- A key or header value that HTTP cannot carry (a line break from a pasted
  second line, a control or non-ASCII character copied from a web page) is
  refused here, before any request, in one line naming the profile and where
  the value came from -- never the value.  Left to the HTTP stack it became an
  internal error, or an error text quoting the whole key.
- Every key resolved and every credential-looking header value is handed to
  :func:`llmcli.errors.remember_secret` before any request, so no error text
  derived from any exception can repeat it.
- ``api_key_cmd`` runs without a shell and answers as soon as the command has
  exited: a background child it left holding stdout open does not keep the
  call waiting for an end of file that never comes.
"""

from __future__ import annotations

import os
import re
import selectors
import shlex
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError, remember_secret

if TYPE_CHECKING:
    from .config import Profile

API_KEY_CMD_TIMEOUT = 15.0
_CMD_OUTPUT_CAP = 64 * 1024  # a key is short; more than this is kept out of memory

# Header names whose values are credentials (masked by `config show`, remembered as secrets).
SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie|session|signature|password|credential", re.IGNORECASE)
# RFC 9110 token characters: what a header name may contain.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")  # what str.splitlines() splits at


def value_problem(value: str) -> str | None:
    """Why ``value`` cannot travel in an HTTP header (as a key or a header value), or None.

    The answer never quotes the value: it says what kind of character is wrong and where.
    """
    if any(ch in _LINE_BREAKS for ch in value):
        return "has a line break (a second line pasted with it?)"
    for index, ch in enumerate(value):
        if ord(ch) < 32 or ord(ch) == 127:
            return f"has a control character (character {index + 1})"
        if ord(ch) > 127:
            return (
                f"has a non-ASCII character (character {index + 1}; "
                "a quote, dash or space copied from a web page?)"
            )
    return None


def header_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid HTTP header name, or None."""
    if not _HEADER_NAME.match(name):
        return "is not a valid header name (letters, digits and - only)"
    return None


def looks_secret(name: str, value: str) -> bool:
    """Whether a header's value should be treated as a credential.

    A secret-looking name always; otherwise a long token-like value (no spaces,
    not a URL), since a provider's custom key header can be named anything.
    Short plain values ("llmcli" as X-Title) are not remembered: masking them
    would mask that word in every error message.
    """
    if SECRET_HEADER.search(name):
        return True
    return len(value) >= 16 and not any(ch.isspace() for ch in value) and not value.startswith(("http://", "https://"))


def resolve_api_key(profile: Profile, path: Path | None = None) -> str | None:
    """The key for a call: inline api_key, else api_key_cmd's output, else the first set variable.

    Also checks the profile's headers (:func:`check_headers`): both are what the
    call sends, and both must be known as secrets before it does.  Raises
    ConfigError when the provider needs a key and none can be found, when
    api_key_cmd fails, or when the key or a header cannot be sent; the message
    names the profile and what to change, never the key.
    """
    check_headers(profile, path)
    label = f"profile '{profile.name}'"
    where = f" in {path}" if path else ""
    if profile.api_key:
        key = profile.api_key.strip()
        return _checked(key, f"{label}: the api_key in [profiles.{profile.name}]{where}", "fix it in the file")
    if profile.api_key_cmd:
        shown = _cmd_name(profile.api_key_cmd)
        key = _run_key_cmd(profile)
        return _checked(key, f"{label}: the key printed by api_key_cmd '{shown}'", "check what the command prints")
    for var in profile.api_key_env:
        value = os.environ.get(var, "").strip()
        if value:
            return _checked(value, f"{label}: the key in {var}", "export it as one line, with nothing else")
    if not profile.needs_key:
        return None
    names = " or ".join(profile.api_key_env)
    hint = f"set {names}, or " if names else ""
    raise ConfigError(
        f"{label}: no API key: {hint}add api_key_env or api_key_cmd to [profiles.{profile.name}]{where}"
    )


def check_headers(profile: Profile, path: Path | None = None) -> dict[str, str]:
    """The profile's headers, checked as :func:`resolve_api_key` checks a key; credential values remembered."""
    where = f" in {path}" if path else ""
    out: dict[str, str] = {}
    for name, value in profile.headers.items():
        problem = header_name_problem(name) or value_problem(value)
        if problem:
            subject = f"header name '{name}'" if header_name_problem(name) else f"the value of header '{name}'"
            raise ConfigError(
                f"profile '{profile.name}': {subject} {problem}; fix headers in [profiles.{profile.name}]{where}"
            )
        if looks_secret(name, value):
            remember_secret(value)
        out[name] = value
    return out


def key_status(profile: Profile) -> str:
    """Where the key would come from, without ever reading it out (``llmcli profiles``)."""
    if profile.api_key:
        return "set (inline)"
    if profile.api_key_cmd:
        return "command"
    for var in profile.api_key_env:
        if os.environ.get(var):
            return f"set ({var})"
    if not profile.needs_key:
        return "not needed"
    names = " or ".join(profile.api_key_env) or "no variable"
    return f"missing ({names})"


def _checked(key: str, what: str, fix: str) -> str:
    """``key`` remembered as a secret if it can be sent; else the ConfigError saying why.

    A refused key is not remembered: it is never sent, so no error text can
    quote it, and its other lines ("second") would mask words of the message.
    """
    problem = value_problem(key)
    if problem:
        raise ConfigError(f"{what} {problem}; {fix}")
    remember_secret(key)
    return key


def _cmd_argv(cmd: str | tuple[str, ...] | None) -> list[str]:
    return list(cmd) if isinstance(cmd, tuple) else shlex.split(cmd or "")


def _cmd_name(cmd: str | tuple[str, ...] | None) -> str:
    try:
        argv = _cmd_argv(cmd)
    except ValueError:
        return str(cmd).split()[0] if str(cmd).split() else "''"
    return argv[0] if argv else "''"


def _run_key_cmd(profile: Profile) -> str:
    label = f"profile '{profile.name}': api_key_cmd '{_cmd_name(profile.api_key_cmd)}'"
    try:
        argv = _cmd_argv(profile.api_key_cmd)
    except ValueError as exc:  # shlex: unbalanced quotes
        raise ConfigError(f"{label}: cannot be split into words ({exc})") from None
    if not argv:
        raise ConfigError(f"{label}: empty command")
    try:
        code, out, err = run_until_exit(argv, API_KEY_CMD_TIMEOUT)
    except FileNotFoundError:
        raise ConfigError(f"{label}: command not found") from None
    except PermissionError:
        raise ConfigError(f"{label}: not executable") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{label}: no answer within {API_KEY_CMD_TIMEOUT:g} s") from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot run: {exc.strerror}") from None
    lines = out.strip().splitlines()
    if code != 0:
        detail = err.strip().splitlines()
        reason = f": {detail[-1][:200]}" if detail else ""
        raise ConfigError(f"{label} exited with status {code}{reason}")
    if not lines or not lines[0].strip():
        raise ConfigError(f"{label} printed nothing")
    return lines[0].strip()


def run_until_exit(argv: list[str], timeout: float) -> tuple[int, str, str]:
    """Run ``argv`` (no shell, no stdin); its exit status, stdout and stderr once it has exited.

    Unlike ``subprocess.run``, this does not wait for the pipes' end of file:
    a background child the command left behind may hold them open for as long
    as it lives.  Everything the command itself wrote is in the pipes when it
    exits, so what can be read then without blocking is its whole output.
    Raises ``subprocess.TimeoutExpired`` (after killing the command) when it
    has not exited within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    buffers = {out_fd: bytearray(), err_fd: bytearray()}
    try:
        with selectors.DefaultSelector() as selector:
            for fd in buffers:
                os.set_blocking(fd, False)
                selector.register(fd, selectors.EVENT_READ)
            while selector.get_map():
                if proc.poll() is not None:
                    for key in list(selector.get_map().values()):
                        # Bounded: a background child may go on writing for ever.
                        for _ in range(16):
                            if not _read(key.fd, buffers[key.fd]):
                                break
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise subprocess.TimeoutExpired(argv, timeout)
                # Short waits, so that its exit is noticed without an end of file.
                for key, _ in selector.select(min(remaining, 0.05)):
                    if _read(key.fd, buffers[key.fd]) is False:
                        selector.unregister(key.fd)
        code = proc.wait(max(deadline - time.monotonic(), 0.01))
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        proc.stdout.close()
        proc.stderr.close()
    return code, buffers[out_fd].decode("utf-8", "replace"), buffers[err_fd].decode("utf-8", "replace")


def _read(fd: int, buffer: bytearray) -> bool | None:
    """Read what the pipe holds into ``buffer`` (up to the cap): True if read, False at end of file, None if empty."""
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        return None
    if not chunk:
        return False
    if len(buffer) < _CMD_OUTPUT_CAP:
        buffer += chunk[: _CMD_OUTPUT_CAP - len(buffer)]
    return True
