"""``reparamopt reproduce`` on stand-in tutorials, and the list of the shipped ones."""

import pytest

from .helpers import assert_one_line_error, run_cli, run_in_process, without

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_reproduce_list(tmp_path, monkeypatch, capsys, tutorials):
    monkeypatch.setenv("REPARAMOPT_TUTORIALS", tutorials["REPARAMOPT_TUTORIALS"])
    done = run_in_process("reproduce", "--list", cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["broken", "implicit_bias", "rates"]


def test_reproduce_one_figure(tmp_path, tutorials):
    done = run_cli("reproduce", "implicit", "--quick", "-o", "figs", cwd=tmp_path, env=tutorials)
    assert done.returncode == 0, done.stderr
    figs = tmp_path / "figs"
    assert (figs / "implicit_bias.txt").read_text() == "quick"
    assert (figs / "plot_implicit_bias_1.png").stat().st_size > 1_000
    assert not (figs / "rates.txt").exists()


def test_reproduce_failure_and_unknown_name(tmp_path, tutorials):
    done = run_cli("reproduce", "broken", "rates", "-o", "figs", cwd=tmp_path, env=tutorials)
    assert done.returncode != 0
    assert "boom" in done.stdout
    assert (tmp_path / "figs" / "rates.txt").read_text() == "full"
    assert "Traceback" not in done.stderr


def test_reproduce_unknown_name(tmp_path, monkeypatch, capsys, tutorials):
    monkeypatch.setenv("REPARAMOPT_TUTORIALS", tutorials["REPARAMOPT_TUTORIALS"])
    for name in ("nothing", "r"):  # no match; several matches
        line = assert_one_line_error(run_in_process("reproduce", name, cwd=tmp_path,
                                                    monkeypatch=monkeypatch, capsys=capsys))
        assert "implicit_bias" in line


def test_reproduce_lists_the_shipped_tutorials(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("REPARAMOPT_TUTORIALS", raising=False)
    from importlib.resources import files

    import reparamopt.tutorials

    scripts = sorted(p for p in files(reparamopt.tutorials).iterdir() if p.name.startswith("plot_"))
    assert len(scripts) == 6
    done = run_in_process("reproduce", "--list", cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert done.returncode == 0, done.stderr
    assert [line.split()[1] for line in done.stdout.splitlines()] == [f"({s.name})" for s in scripts]


def test_reproduce_without_matplotlib_fails_at_once(tmp_path, tutorials):
    env = {**tutorials, **without(tmp_path / "site", "matplotlib")}
    done = run_cli("reproduce", "rates", "-o", "figs", cwd=tmp_path, env=env)
    line = assert_one_line_error(done)
    assert line.endswith("needs matplotlib, which is not installed: pip install 'reparamopt[plot]'"), line
    assert done.stdout == "" and not (tmp_path / "figs").exists()
    listed = run_cli("reproduce", "--list", cwd=tmp_path, env=env)
    assert listed.returncode == 0 and "rates" in listed.stdout, listed.stderr


def test_reproduce_leaves_no_empty_folder_when_every_figure_fails(tmp_path, tutorials):
    done = run_cli("reproduce", "broken", "-o", "figs/new", cwd=tmp_path, env=tutorials)
    assert done.returncode != 0 and "boom" in done.stdout
    assert "figures in" not in done.stdout and not (tmp_path / "figs").exists()
