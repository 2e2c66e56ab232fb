"""llmcli/resolver.py: real paths with each directory resolved once, always what Path.resolve() says."""

from __future__ import annotations

import threading
from pathlib import Path

from llmcli.resolver import Resolver


def test_the_resolver_agrees_with_path_resolve_through_symlinks_and_for_paths_not_there(tmp_path, monkeypatch):
    """The plan and the journal key files by these; every answer must be str(Path.resolve())."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "sub" / "f.txt").write_text("f")
    (tmp_path / "linkdir").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "link.txt").symlink_to(tmp_path / "real" / "sub" / "f.txt")
    (tmp_path / "real" / "loop").symlink_to(tmp_path / "real" / "loop")
    resolve = Resolver()
    for name in ("real/sub/f.txt", "linkdir/sub/f.txt", "linkdir/link.txt", "real/link.txt", "real/../real/sub/f.txt",
                 "linkdir/sub/../sub/f.txt", "absent/x.txt", "linkdir/new.txt", "real/sub", "linkdir", ".", "..",
                 "real/sub/..", "f.txt", str(tmp_path / "linkdir" / "sub" / "f.txt")):
        for _ in range(2):  # the second time from the cache
            assert resolve(Path(name)) == str(Path(name).resolve()), name


def test_threads_sharing_one_resolver_get_the_same_answers(tmp_path):
    for d in range(20):
        (tmp_path / f"d{d}").mkdir()
    resolve, answers = Resolver(), []

    def work() -> None:
        answers.append([resolve(tmp_path / f"d{d}" / "f.txt") for d in range(20)])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = [str((tmp_path / f"d{d}" / "f.txt").resolve()) for d in range(20)]
    assert answers == [expected] * 4
