"""Reading docker-compose.yml and the Dockerfile as Docker would, without Docker."""

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def load_compose(path: Path = COMPOSE) -> dict[str, Any]:
    data = YAML(typ="safe").load(path.read_text())
    assert isinstance(data, dict)
    return data


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        present = env.get(name)
        if op in (":-", "-"):
            return present if present else (arg or "")
        if op in (":?", "?"):
            if not present:
                raise ValueError(f"{name}: {arg}")
            return present
        return present or ""

    return _VAR.sub(one, value)


def service_environment(compose: dict[str, Any], service: str,
                        env: Mapping[str, str]) -> dict[str, str]:
    raw = compose["services"][service].get("environment", {})
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {k: interpolate(str(v), env) for k, v in raw.items()}


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def healthcheck_command(path: Path = DOCKERFILE) -> list[str]:
    """The HEALTHCHECK's CMD (shell form) as an argv for /bin/sh."""
    (args,) = [rest for word, rest in dockerfile_instructions(path) if word == "HEALTHCHECK"]
    _, _, command = args.partition(" CMD ")
    assert command, args
    return ["/bin/sh", "-c", command.strip()]


def split_cmd(args: str) -> list[str]:
    return list(shlex.split(args))
