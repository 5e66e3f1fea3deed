"""bench/gpu_attention.py names the commit its libraries were built from:
the COMMIT file written at build time (next to the libraries, or at the top
of scripts/gpu-artifacts.sh's artifacts), never the git repository the run
happens to be inside."""

import importlib.util
import os
import subprocess

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
spec = importlib.util.spec_from_file_location("gpu_attention",
                                              os.path.join(ROOT, "bench", "gpu_attention.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_commit_file_of_the_artifacts(tmp_path):
    libs = tmp_path / "gpu-artifacts" / "bench" / "libs"
    libs.mkdir(parents=True)
    (tmp_path / "gpu-artifacts" / "COMMIT").write_text("abc1234\n")
    assert bench.artifacts_commit(str(libs)) == "abc1234"
    (libs / "COMMIT").write_text("def5678-dirty\n")
    assert bench.artifacts_commit(str(libs)) == "def5678-dirty"


def test_not_the_surrounding_repository(tmp_path):
    """Artifacts without COMMIT, inside another git repository: 'unknown',
    not that repository's commit."""
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("no git")
    repo = tmp_path / "elsewhere"
    libs = repo / "a" / "b" / "c" / "libs"
    libs.mkdir(parents=True)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "x"],
                   check=True, env=env)
    assert bench.artifacts_commit(str(libs)) == "unknown"
    old = os.getcwd()
    try:
        os.chdir(libs)
        assert bench.artifacts_commit(".") == "unknown"
    finally:
        os.chdir(old)


def test_source_commit_of_this_checkout():
    commit = bench.source_commit()
    assert commit == "unknown" or len(commit.split("-")[0]) >= 7
