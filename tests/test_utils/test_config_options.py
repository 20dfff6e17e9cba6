"""Bad --cfg-options and config files fail once, naming what is wrong."""
import argparse
import os.path as osp
import subprocess
import sys

import pytest

from facessl.utils.config import (add_launch_args, load_tool_config,
                                  unbalanced)
from tests.conftest import REPO_ROOT

CLS = osp.join(REPO_ROOT, 'tests/data/configs/tiny-cls_synthetic-faces.py')


def _parse(capsys, *options):
    parser = argparse.ArgumentParser(prog='train.py')
    add_launch_args(parser)
    with pytest.raises(SystemExit) as info:
        parser.parse_args(['--cfg-options', *options])
    assert info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_option_without_equals_sign_is_quoted(capsys):
    error = _parse(capsys, 'train_cfg.max_epochs=2', 'max_epochs')
    assert error.startswith('train.py: error: argument --cfg-options: ')
    assert "'max_epochs' is not KEY=VALUE" in error


@pytest.mark.parametrize('option, problem', [
    ('model.head.out_dim=[64', "'[' is never closed"),
    ('model.head.out_dim=(64, [1)]', "')' does not close '['"),
    ('model.head.out_dim=64]', "']' closes nothing"),
    ("work_dir='runs/a", "the quote ' is never closed"),
])
def test_unbalanced_value_is_quoted(capsys, option, problem):
    error = _parse(capsys, option)
    assert f'{option!r}: {problem} in the value' in error


def test_balanced_values_parse():
    parser = argparse.ArgumentParser()
    add_launch_args(parser)
    args = parser.parse_args(['--cfg-options', 'a.b=[64,(1,2)]',
                              "c='x]y'", 'd=1'])
    assert args.cfg_options == {'a.b': [64, (1, 2)], 'c': 'x]y', 'd': 1}
    assert unbalanced('{"k": [1, 2]}') is None


def test_top_level_option_nothing_reads_names_the_nested_key(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text(f"_base_ = ['{CLS}']\nmax_epochs = 3\n"
                      'train_cfg = dict(max_epochs=max_epochs)\n')
    with pytest.raises(ValueError) as info:
        load_tool_config(str(config), {'max_epochs': 1})
    message = str(info.value)
    assert message.startswith("--cfg-options max_epochs=...: 'max_epochs' "
                              f'is a variable of {config}, used only while')
    assert message.endswith('set train_cfg.max_epochs instead')
    # keys the Runner reads and facessl's extra keys still work
    cfg = load_tool_config(str(config), {
        'work_dir': 'w', 'load_from': None, 'resume': False,
        'randomness': dict(seed=1), 'launcher': 'none',
        'default_scope': 'facessl', 'custom_imports': dict(imports=[]),
        'train_cfg.max_epochs': 2})
    assert cfg.train_cfg.max_epochs == 2 and cfg.work_dir == 'w'
    with pytest.warns(UserWarning, match="'my_key' is not a Runner key"):
        assert load_tool_config(str(config), {'my_key': 1}).my_key == 1


@pytest.mark.parametrize('broken', ['child', 'base'])
def test_syntax_error_names_config_file_and_line(tmp_path, broken):
    base = tmp_path / 'base.py'
    child = tmp_path / 'child.py'
    base.write_text('a = 1\n' + ('b = dict(x=1,\n' if broken == 'base'
                                 else 'b = 2\n'))
    child.write_text("_base_ = ['./base.py']\nc = 3\n" + (
        'd = [1, 2\n' if broken == 'child' else ''))
    with pytest.raises(SyntaxError) as info:
        load_tool_config(str(child))
    bad, line = (child, 3) if broken == 'child' else (base, 2)
    assert info.value.filename == str(bad) and info.value.lineno == line
    assert f'(config file {bad}, line {line})' in str(info.value)
    assert 'never closed' in str(info.value)


def test_train_tool_refuses_ignored_option(tmp_path, subprocess_env):
    run = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools/train.py'), CLS,
         '--work-dir', str(tmp_path), '--cfg-options', 'max_epochs=1'],
        env=subprocess_env, cwd=tmp_path, capture_output=True, text=True,
        timeout=300)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith('ValueError: --cfg-options max_epochs=...')
    assert 'set train_cfg.max_epochs instead' in last
    assert not (tmp_path / 'epoch_1.pth').exists()
