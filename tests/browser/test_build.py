"""The committed build (interfaces/web/static, what `eschat serve` and the wheel
ship) is exactly what webclient/ builds to, and the type check passes."""

import filecmp
import subprocess
from pathlib import Path

from interfaces.web.site import STATIC
from tests.conftest import ROOT

WEBCLIENT = ROOT / "webclient"


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_the_committed_build_is_what_the_source_builds_to(tmp_path: Path) -> None:
    assert (WEBCLIENT / "node_modules" / ".bin" / "vite").exists(), "npm ci --prefix webclient"
    out = tmp_path / "build"
    done = subprocess.run(["npm", "run", "--silent", "build", "--", "--outDir", str(out),
                           "--emptyOutDir", "--logLevel", "warn"],
                          cwd=WEBCLIENT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    built, committed = files_under(out), files_under(STATIC)
    assert built == committed, (
        "interfaces/web/static is stale: run `npm run build --prefix webclient` and commit it; "
        f"only built: {sorted(built - committed)}, only committed: {sorted(committed - built)}")
    differ = [f for f in sorted(built) if not filecmp.cmp(out / f, STATIC / f, shallow=False)]
    assert not differ, f"interfaces/web/static is stale: {differ} differ from the source's build"
