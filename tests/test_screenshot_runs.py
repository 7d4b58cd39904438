"""The browser tests' screenshot folders: older runs' go, the newest and the young stay."""

from __future__ import annotations

import os

from testkit.browser import prune_runs


def test_older_runs_screenshots_go_and_the_newest_and_young_stay(tmp_path):
    now_s = 1_000_000.0
    ages_h = [0.1, 0.5, 2, 3, 4, 5, 26, 50]  # newest first
    folders = []
    for i, age in enumerate(ages_h):
        folder = tmp_path / f"screenshots-{i}"
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "a.png").write_bytes(b"png")
        os.utime(folder, (now_s - age * 3600, now_s - age * 3600))
        folders.append(folder)
    other = tmp_path / "notes"
    other.mkdir()
    os.utime(other, (0, 0))
    gone = prune_runs(tmp_path, now_s, keep=3, younger_than_s=3600)
    # past the newest three, every folder an hour old or more goes; the two young ones were among the three
    assert sorted(gone) == sorted(folders[3:])
    assert [f.exists() for f in folders] == [True] * 3 + [False] * 5
    assert other.exists()  # not a run's folder
    # with none to keep by count, the folders under an hour old (a run's workers still writing) stay all the same
    assert prune_runs(tmp_path, now_s, keep=0, younger_than_s=3600) == [folders[2]]
    assert [f.exists() for f in folders[:3]] == [True, True, False]
