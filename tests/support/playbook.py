"""Reads the playbooks Mission Control writes into agents' workspaces the way an agent would: the
commands (one fenced ```sh block each, a ``# <name>: <when>`` line then the command), the
placeholders the text tells the agent to fill, and the refusals it announces
("`<command>` is refused with `<code>`"). Knows the format, not Mission Control's routes."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_BLOCK = re.compile(r"```sh\n(?P<body>.*?)\n```", re.DOTALL)
_NAME_LINE = re.compile(r"^# (?P<name>[a-z][a-z-]*): (?P<when>.+)$")
_PLACEHOLDER = re.compile(r"<(?P<name>[A-Z][A-Z_]*)>")
_LEGEND = re.compile(r"replacing each placeholder:(?P<legend>.*?)\nAnswers", re.DOTALL)
_THROUGH_GATEWAY = re.compile(
    r"- (?P<names>(?:`[a-z][a-z-]*`(?:, | and )?)+) go through the gateway"
)
_NAME = re.compile(r"`(?P<name>[a-z][a-z-]*)`")
_REFUSAL = re.compile(r"`(?P<name>[a-z][a-z-]*)` is refused with `(?P<code>[a-z_]+)`")


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    when: str
    line: str

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(m.group("name") for m in _PLACEHOLDER.finditer(self.line))

    def filled(self, values: Mapping[str, str]) -> str:
        missing = self.placeholders - set(values)
        if missing:
            raise KeyError(f"{self.name}: no value for {sorted(missing)}")
        return _PLACEHOLDER.sub(lambda m: values.get(m.group("name"), m.group(0)), self.line)


def commands(text: str, *, strict: bool = True) -> dict[str, Command]:
    """Every command block of ``text`` by name. Strict (a workspace file): a block that is not
    one named command, or a name used twice, fails; lenient (a whole prompt with other text):
    such blocks are skipped and the first of a name wins."""
    found: dict[str, Command] = {}
    for block in _BLOCK.finditer(text):
        lines = block.group("body").splitlines()
        if len(lines) != 2 or not (match := _NAME_LINE.match(lines[0])):
            if not strict:
                continue
            raise ValueError(f"not a '# name: when' + one command block: {block.group(0)!r}")
        name = match.group("name")
        if name in found:
            if not strict:
                continue
            raise ValueError(f"command {name!r} appears twice")
        found[name] = Command(name=name, when=match.group("when"), line=lines[1])
    return found


def placeholder_legend(text: str) -> frozenset[str]:
    """The placeholders the text tells the agent to fill (its 'replacing each placeholder:'
    paragraph)."""
    match = _LEGEND.search(text)
    if match is None:
        return frozenset()
    return frozenset(m.group("name") for m in _PLACEHOLDER.finditer(match.group("legend")))


def refusals(text: str) -> frozenset[tuple[str, str]]:
    """(command, error code) pairs the text says a command is refused with."""
    flat = " ".join(text.split())
    return frozenset((m.group("name"), m.group("code")) for m in _REFUSAL.finditer(flat))


def through_gateway(text: str) -> frozenset[str]:
    """Commands the text says go through the gateway (a `gateway_...` refusal: run again)."""
    flat = " ".join(text.split())
    return frozenset(
        name.group("name")
        for match in _THROUGH_GATEWAY.finditer(flat)
        for name in _NAME.finditer(match.group("names"))
    )


def first_json(output: str) -> Any:
    """The first JSON value in a command's output (a tool result may wrap it in other text)."""
    decoder = json.JSONDecoder()
    for index, char in enumerate(output):
        if char in "{[":
            try:
                value, _end = decoder.raw_decode(output[index:])
            except ValueError:
                continue
            return value
    return None


def error_code(answer: Any) -> str | None:
    """The error code of a refusal, None for a success."""
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        code = answer["error"].get("code")
        return str(code) if code is not None else "error"
    return None


def run(command: str, timeout: float = 240.0) -> Any:
    """Runs the command line as a shell would (the way an agent's exec tool does)."""
    done = subprocess.run(
        ["/bin/sh", "-c", command], capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr[-500:]}")
    return json.loads(done.stdout) if done.stdout.strip() else None
