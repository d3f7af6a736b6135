"""A tunnel in front of the laptop: WEBHOOK_PUBLIC_URL names a URL that does not resolve here.

Deliveries are signed for that URL and still posted to the local gateway (stack.json's
`webhookUrl`); every sender in the project does so: the signing helper, the emulator, the demo.
"""

import json
import subprocess
import sys

import pytest
import requests

from local.settings import PROJECT_ROOT
from tests.integration.conftest import TUNNEL_URL
from tests.integration.test_demo import Demo

pytestmark = pytest.mark.integration


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_stack_json_posts_locally_and_signs_for_the_public_url(tunnel_stack):
    assert tunnel_stack["webhookUrl"] == tunnel_stack["api"] + "/webhooks/returnhelper"
    assert tunnel_stack["webhookSignedUrl"] == TUNNEL_URL


def test_the_signing_helper_delivers_through_the_tunnel_setup(tunnel_stack):
    sent = _run(
        "local.sign",
        "newInventoryCreated",
        "--post",
        "--fresh-event-time",
        "--stack",
        tunnel_stack["stackFile"],
        timeout=60,
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert sent.stdout.startswith("200 ")
    assert json.loads(sent.stdout.split("\n", 1)[1])["status"] in ("applied", "duplicate")
    view = requests.get(
        f"{tunnel_stack['api']}/inventories/20251", headers={"x-api-key": tunnel_stack["apiKey"]}, timeout=10
    )
    assert view.status_code == 200 and view.json()["inStock"] is True


def test_a_delivery_signed_for_the_local_url_is_refused(tunnel_stack):
    # The webhook function verifies against the public URL, not the address it was reached on.
    sent = _run(
        "local.sign",
        "newInventoryCreated",
        "--post",
        "--fresh-event-time",
        "--url",
        tunnel_stack["webhookUrl"],  # signed for --url, i.e. the local address
        timeout=60,
    )
    assert sent.returncode == 1 and sent.stdout.startswith("401 "), sent.stdout + sent.stderr


def test_an_emulator_arrival_reaches_the_stack(tunnel_stack):
    arrived = requests.post(
        f"{tunnel_stack['emulator']}/_emulator/inventories", json={"warehouseId": 2, "sku": "TUNNEL-1"}, timeout=30
    ).json()
    assert arrived["webhook"]["url"] == tunnel_stack["webhookUrl"]
    assert arrived["webhook"]["status"] == 200, arrived["webhook"]
    inventory_id = arrived["inventory"]["returnInventoryId"]
    view = requests.get(
        f"{tunnel_stack['api']}/inventories/{inventory_id}", headers={"x-api-key": tunnel_stack["apiKey"]}, timeout=10
    )
    assert view.status_code == 200 and view.json()["sku"] == "TUNNEL-1"


def test_the_demo_runs_end_to_end_through_the_tunnel_setup(tunnel_stack):
    Demo(tunnel_stack, say=lambda line: None).run()
