"""`cxpulse models pull` against a local server that answers the Hub's documented endpoints, with a
tiny model built here; the pulled model then loads by its id through HubClassifier."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sentiment.own_models import PullError, cached_hub_models, pull

ROOT = Path(__file__).parent.parent.parent
REPO_ID = "cxpulse-test/tiny-dutch-sentiment"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """The Hub's model endpoints for one repository at one commit, as huggingface_hub calls them:
    repo info, the recursive tree, and HEAD/GET of /{repo}/resolve/{revision}/{file}."""

    def __init__(self, folder: Path) -> None:
        self.files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
        self.requests: list[str] = []

    @staticmethod
    def _git_oid(content: bytes) -> str:
        return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()

    def _is_lfs(self, name: str) -> bool:
        return name.endswith(".safetensors")

    def _entry(self, name: str) -> dict[str, object]:
        content = self.files[name]
        entry: dict[str, object] = {
            "type": "file",
            "path": name,
            "size": len(content),
            "oid": self._git_oid(content),
        }
        if self._is_lfs(name):
            sha = hashlib.sha256(content).hexdigest()
            entry["lfs"] = {"oid": sha, "size": len(content), "pointerSize": 134}
        return entry

    def __call__(self, request: Request) -> Response:
        self.requests.append(f"{request.method} {request.path}")
        repo = re.escape(REPO_ID)
        if re.fullmatch(rf"/api/models/{repo}/revision/[^/]+", request.path):
            siblings = [{"rfilename": name} for name in self.files]
            body = {"id": REPO_ID, "modelId": REPO_ID, "sha": COMMIT, "siblings": siblings}
            return Response(json.dumps(body), content_type="application/json")
        if re.fullmatch(rf"/api/models/{repo}/tree/{COMMIT}(/.*)?", request.path):
            body = [self._entry(name) for name in self.files]
            return Response(json.dumps(body), content_type="application/json")
        found = re.fullmatch(rf"/{repo}/resolve/([^/]+)/(.+)", request.path)
        if found and found.group(1) in (COMMIT, "main") and found.group(2) in self.files:
            name = found.group(2)
            content = self.files[name]
            headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{self._git_oid(content)}"'}
            if self._is_lfs(name):
                headers["X-Linked-Etag"] = f'"{hashlib.sha256(content).hexdigest()}"'
                headers["X-Linked-Size"] = str(len(content))
            response = Response(b"" if request.method == "HEAD" else content, headers=headers)
            response.headers["Content-Length"] = str(len(content))
            return response
        if found:  # the repository exists, the file does not
            return Response(
                json.dumps({"error": "Entry not found"}),
                status=404,
                headers={"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT},
                content_type="application/json",
            )
        return Response(
            json.dumps({"error": "Repository not found"}),
            status=404,
            headers={"X-Error-Code": "RepoNotFound"},
            content_type="application/json",
        )


@pytest.fixture
def hub(httpserver: HTTPServer, tiny_model: Path) -> FakeHub:
    fake = FakeHub(tiny_model)
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake)
    return fake


def test_pull_downloads_into_the_hugging_face_cache_layout(
    hub: FakeHub, httpserver: HTTPServer, tmp_path: Path
) -> None:
    cache = tmp_path / "hub"
    snapshot = pull(REPO_ID, endpoint=httpserver.url_for("").rstrip("/"), cache_dir=cache)
    assert snapshot == cache / "models--cxpulse-test--tiny-dutch-sentiment" / "snapshots" / COMMIT
    assert (snapshot / "model.safetensors").read_bytes() == hub.files["model.safetensors"]
    assert {p.name for p in snapshot.iterdir()} == set(hub.files)
    (listed,) = cached_hub_models(cache)
    assert listed.repo_id == REPO_ID and listed.revisions == (COMMIT[:12],)
    assert listed.size_bytes >= len(hub.files["model.safetensors"])
    assert any(r.startswith("GET /api/models/") for r in hub.requests)


def test_an_unknown_model_or_an_unreachable_hub_is_a_clear_error(
    hub: FakeHub, httpserver: HTTPServer, tmp_path: Path
) -> None:
    with pytest.raises(PullError, match="refused 'nobody/nothing'"):
        pull("nobody/nothing", endpoint=httpserver.url_for("").rstrip("/"), cache_dir=tmp_path)
    with pytest.raises(PullError, match="could not reach the Hugging Face hub"):
        pull(REPO_ID, endpoint="http://127.0.0.1:9", cache_dir=tmp_path / "empty")


@pytest.mark.slow
def test_cli_pull_then_list_use_and_load_by_id_through_hub_classifier(
    hub: FakeHub, httpserver: HTTPServer, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "HF_ENDPOINT": httpserver.url_for("").rstrip("/"),
        "HF_HOME": str(tmp_path / "hf"),
        "CXPULSE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "app.py"), "--log-level", "WARNING", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=300,
        )

    pulled = cli("models", "pull", REPO_ID)
    assert pulled.returncode == 0, pulled.stderr
    assert f"cxpulse models use {REPO_ID}" in pulled.stdout
    listed = cli("models", "list")
    assert listed.returncode == 0, listed.stderr
    assert REPO_ID in listed.stdout and "Hugging Face cache" in listed.stdout
    used = cli("models", "use", REPO_ID)
    assert used.returncode == 0, used.stderr
    assert (tmp_path / "var" / "models" / "active").read_text().strip() == REPO_ID
    load = (
        "from sentiment.classifier import HubClassifier\n"
        f"c = HubClassifier({REPO_ID!r})\n"
        "print(c.revision, [round(p.score, 3) for p in c.predict(['Top!', 'Te laat.'])])\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", load], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
    )
    assert loaded.returncode == 0, loaded.stderr
    revision, scores = loaded.stdout.split(" ", 1)
    assert revision == COMMIT  # recorded with every score this model gives
    assert all(-1 <= s <= 1 for s in json.loads(scores))
