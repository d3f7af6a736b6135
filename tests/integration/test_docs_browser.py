"""/docs in a real browser with no network beyond 127.0.0.1: every operation is rendered.

Headless Debian `chromium` (.ci/run installs it when missing); DNS for anything but 127.0.0.1
fails, so a page that needed a CDN would render no operation. The screenshot is kept as a
test artifact (.local/artifacts/docs.png).
"""

import shutil
import subprocess
import tempfile

import pytest

from local.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

ARTIFACTS = PROJECT_ROOT / ".local" / "artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no network beyond this machine
    "--virtual-time-budget=15000",  # let Swagger UI render before the DOM is dumped
]


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(
            "!!! BROWSER TEST NOT RUN: no `chromium` on PATH. Install it (`apt-get update && apt-get install -y "
            "chromium`; .ci/run does so) to check that /docs renders offline. !!!"
        )
    return found


def _chromium(chromium: str, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )


def test_the_docs_page_renders_every_operation_offline(stack, api, chromium):
    document = api.conformance.document()
    operation_ids = {op["operationId"] for ops in document["paths"].values() for op in ops.values()}
    dumped = _chromium(chromium, "--dump-dom", f"{stack['api']}/docs")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    missing = sorted(op for op in operation_ids if f'id="operations-default-{op}"' not in dom)
    assert not missing, f"operations not rendered by /docs: {missing}"
    assert "/resends/{resendRequestId}/cancel" in dom

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "docs.png"
    screenshot.unlink(missing_ok=True)
    shot = _chromium(chromium, "--window-size=1280,1800", f"--screenshot={screenshot}", f"{stack['api']}/docs")
    assert shot.returncode == 0 and screenshot.stat().st_size > 10_000, shot.stderr[-2000:]
    print(f"/docs screenshot: {screenshot}")
