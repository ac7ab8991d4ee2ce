"""Files written the way users expect (issue 13): symlinks, FIFOs, /dev/stdout,
permissions, and outputs refused before any work. Each written document is compared
with the same command's output to a plain file in the same run."""

import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pyhf"
SIMPLE = (
    DATA
    / "validation-workspaces"
    / "simplemodels_uncorrelated_background_doc_example.json"
)
LBB = DATA / "atlas-1Lbb-ins1755298"


def hifit(*args, umask=None, stdout=subprocess.PIPE):
    cmd = [sys.executable, "-m", "hifit.cli", *map(str, args)]
    preexec = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.run(
        cmd, stdout=stdout, stderr=subprocess.PIPE, text=True, preexec_fn=preexec
    )


def one_error_line(proc, code=2):
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def plain_output(tmp_path):
    """The document `hifit inspect -o` writes to a new regular file: the reference."""
    path = tmp_path / "plain.json"
    assert hifit("inspect", SIMPLE, "-o", path).returncode == 0
    return path.read_text()


def test_symlink_writes_its_target_and_stays_a_link(tmp_path):
    target = tmp_path / "real" / "out.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert hifit("inspect", SIMPLE, "-o", link).returncode == 0
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert target.read_text() == plain_output(tmp_path)
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]


def test_missing_folders_are_created(tmp_path):
    out = tmp_path / "new" / "folder" / "out.json"
    assert hifit("inspect", SIMPLE, "-o", out).returncode == 0
    assert out.read_text() == plain_output(tmp_path)


def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "new.json")
    assert hifit("inspect", SIMPLE, "-o", link).returncode == 0
    assert link.is_symlink()
    assert (tmp_path / "new.json").read_text() == plain_output(tmp_path)


def test_dev_stdout_prints_the_document_after_the_table(tmp_path):
    plain = plain_output(tmp_path)
    table = hifit("inspect", SIMPLE).stdout
    piped = hifit("inspect", SIMPLE, "-o", "/dev/stdout")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == table + plain
    # stdout redirected to a regular file: appended to, not replaced
    redirected = tmp_path / "redirected.txt"
    with open(redirected, "w") as out:
        assert hifit("inspect", SIMPLE, "-o", "/dev/stdout", stdout=out).returncode == 0
    assert redirected.read_text() == table + plain


def test_fifo_receives_the_document(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    proc = hifit("inspect", SIMPLE, "-o", fifo)
    reader.join(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received == [plain_output(tmp_path)]


def test_output_equal_to_an_input_is_refused(tmp_path):
    ws = tmp_path / "ws.json"
    shutil.copy(SIMPLE, ws)
    before = ws.read_bytes()
    alias = tmp_path / "alias.json"
    alias.symlink_to(ws)
    for output in (ws, alias, tmp_path / "." / "ws.json"):
        line = one_error_line(hifit("fit", ws, "-o", output))
        assert str(output) in line and "input" in line
    assert ws.read_bytes() == before


def test_grid_with_a_bad_csv_folder_leaves_grid_json_untouched(tmp_path):
    grid = tmp_path / "grid.json"
    grid.write_text("previous grid\n")
    before = grid.stat()
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    csv = tmp_path / "notes.txt" / "grid.csv"
    proc = hifit(
        "cls",
        LBB / "BkgOnly.json",
        "--patchset",
        LBB / "patchset.json",
        "-o",
        grid,
        "--csv",
        csv,
    )
    line = one_error_line(proc)
    assert str(csv) in line and "is not a directory" in line
    assert proc.stdout == ""  # refused before any work: no table printed
    assert grid.read_text() == "previous grid\n"
    assert grid.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.json", "notes.txt"]


def test_directory_duplicate_and_unwritable_outputs_are_refused(tmp_path):
    line = one_error_line(hifit("inspect", SIMPLE, "-o", tmp_path))
    assert "directory" in line
    out = tmp_path / "out.json"
    line = one_error_line(
        hifit("cls", SIMPLE, "-o", out, "--csv", tmp_path / "." / "out.json")
    )
    assert "twice" in line
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if not os.access(locked, os.W_OK):  # root may write anywhere
        line = one_error_line(hifit("inspect", SIMPLE, "-o", locked / "out.json"))
        assert "not writable" in line


def test_existing_mode_is_kept_and_new_files_follow_the_umask(tmp_path):
    existing = tmp_path / "existing.json"
    existing.write_text("old")
    existing.chmod(0o640)
    assert hifit("inspect", SIMPLE, "-o", existing, umask=0o077).returncode == 0
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640
    for umask in (0o022, 0o027):
        new = tmp_path / f"new-{umask:o}.json"
        assert hifit("inspect", SIMPLE, "-o", new, umask=umask).returncode == 0
        assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~umask
