"""The command line as a newcomer meets it: help that lists everything, and one-line errors."""

import json

import pytest

from tests.cli import energy_expo


def test_help_lists_every_subcommand():
    from energy_expo.cli import _command_modules

    result = energy_expo("--help")
    assert result.returncode == 0
    names = [m.NAME for m in _command_modules()]
    assert "simulate" in names
    for name in names:
        assert name in result.stdout


def test_jsonl_writes_metadata_then_one_line_per_reading():
    result = energy_expo("simulate", "--output", "jsonl", "--start", "2026-07-01T12:00", "--duration", "1m",
                         "--step", "10s", "--seed", "3")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    metas = [l for l in lines if l["topic"].endswith("/meta")]
    readings = [l for l in lines if l["topic"].endswith("/reading")]
    assert len(metas) >= 300 and len(readings) == 6 * len(metas)
    assert readings[0]["payload"]["ts"] == "2026-07-01T04:00:10Z"  # 12:00 at UTC+8, plus one step


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scenario", "atlantis"], "no scenario named 'atlantis'"),
        (["--step", "0"], "--step must be longer than zero"),
        (["--step", "soon"], "is not a duration"),
        (["--start", "yesterday-ish"], "--start 'yesterday-ish' is not a date"),
        (["--faults", "gremlins=1"], "--faults"),
        (["--seed", "abc"], "seed from flag --seed must be an integer"),
        (["--output", "mqtt", "--broker", "localhost:1883"], "is not a URL"),
        (["--output", "mqtt", "--speed", "0"], "--speed must be a positive number"),
    ],
)
def test_bad_input_gets_one_clear_line_and_no_traceback(args, message):
    result = energy_expo("simulate", "--output", "jsonl", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_broken_scenario_file_names_the_file_and_field(tmp_path):
    path = tmp_path / "my-town.toml"
    path.write_text("[town]\nhouseholds = 'lots'\n")
    result = energy_expo("simulate", "--output", "jsonl", "--scenario", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr and "[town].households" in result.stderr
    assert "Traceback" not in result.stderr


def test_scenario_and_seed_come_from_the_config_file_and_environment(tmp_path):
    (tmp_path / "energy-expo.toml").write_text('scenario = "atlantis"\n')
    result = energy_expo("simulate", "--output", "jsonl", cwd=tmp_path)
    assert result.returncode == 2 and "atlantis" in result.stderr
    env_result = energy_expo("simulate", "--output", "jsonl", cwd=tmp_path, env={**__import__("os").environ,
                                                                                   "EXPO_SCENARIO": "nowhere"})
    assert "nowhere" in env_result.stderr


def test_a_closed_pipe_is_not_an_error():
    import subprocess
    import sys

    pipeline = subprocess.run(
        f"{sys.executable} -m energy_expo.cli simulate --output jsonl --duration 1d | head -n 3",
        shell=True, capture_output=True, text=True, timeout=120,
    )
    assert len(pipeline.stdout.splitlines()) == 3
    assert "Traceback" not in pipeline.stderr and "Error" not in pipeline.stderr


def test_a_subcommand_is_one_file(tmp_path, monkeypatch, capsys):
    """A module dropped into the commands package is a subcommand, with its help and its run, and no other edit."""
    from energy_expo import cli, commands

    (tmp_path / "greet.py").write_text(
        '"""Say hello: a subcommand written in a test."""\n'
        'NAME = "greet"\nHELP = "say hello"\n'
        'def add_arguments(parser):\n    parser.add_argument("--who", default="visitor")\n'
        'def run(args):\n    print(f"hello {args.who}")\n    return 7\n')
    monkeypatch.setattr(commands, "__path__", [*commands.__path__, str(tmp_path)])
    assert "greet" in cli.build_parser().format_help()
    assert cli.main(["greet", "--who", "engineer"]) == 7
    assert capsys.readouterr().out == "hello engineer\n"
