"""tools/train.py: a tiny real run, and bad input that fails clearly."""
import os.path as osp
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

CONFIG = osp.join(REPO_ROOT, 'tests/data/configs/tiny-cls_synthetic-faces.py')
TRAIN = osp.join(REPO_ROOT, 'tools/train.py')


def _train(args, env, cwd):
    return subprocess.run([sys.executable, TRAIN, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _last_error(result):
    """The final exception line of a failed run."""
    assert result.returncode != 0, result.stdout[-2000:]
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    return lines[-1]


def test_tiny_run_writes_checkpoint_and_resumes(tmp_path, subprocess_env):
    work = tmp_path / 'work'
    run = _train([CONFIG, '--work-dir', str(work)], subprocess_env, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (work / 'epoch_1.pth').is_file()
    again = _train([CONFIG, '--work-dir', str(work), '--resume',
                    '--cfg-options', 'train_cfg.max_epochs=2'],
                   subprocess_env, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert 'resumed epoch: 1' in again.stdout + again.stderr
    assert (work / 'epoch_2.pth').is_file()


def test_unknown_registry_type(tmp_path, subprocess_env):
    run = _train([CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
                  'model.backbone.type=NoSuchBackbone'], subprocess_env,
                 tmp_path)
    error = _last_error(run)
    assert 'NoSuchBackbone' in error and 'registry' in error


def test_misspelt_config_key(tmp_path, subprocess_env):
    run = _train([CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
                  'train_dataloder.batch_size=2'], subprocess_env, tmp_path)
    error = _last_error(run)
    assert "'train_dataloder'" in error and "'train_dataloader'" in error


def test_misspelt_constructor_argument(tmp_path, subprocess_env):
    run = _train([CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
                  'train_dataloader.dataset.num_identitys=3'],
                 subprocess_env, tmp_path)
    assert 'num_identitys' in _last_error(run)


def test_missing_config_file(tmp_path, subprocess_env):
    run = _train([str(tmp_path / 'nope.py')], subprocess_env, tmp_path)
    assert 'nope.py' in _last_error(run)


@pytest.mark.parametrize('case', ['missing_root', 'corrupt_image'])
def test_bad_data_names_the_file(tmp_path, subprocess_env, case):
    root = tmp_path / 'faces'
    bad = root
    if case == 'corrupt_image':
        (root / 'alice').mkdir(parents=True)
        bad = root / 'alice' / '0.png'
        bad.write_bytes(b'\x89PNG\r\n\x1a\n not really an image')
    config = tmp_path / 'folder.py'
    config.write_text(
        f"_base_ = ['{CONFIG}']\n"
        'train_dataloader = dict(dataset=dict(_delete_=True, '
        f"type='FaceImageFolder', data_root='{root}', "
        "pipeline=[dict(type='PackInputs')]))\n")
    run = _train([str(config), '--work-dir', str(tmp_path / 'w')],
                 subprocess_env, tmp_path)
    assert str(bad) in _last_error(run)
