"""The two plugin routes, end to end, with the example plugin.

1. Entry point: the plugin, pip-installed, declares ``facessl.plugins``;
   ``register_all_modules()`` imports it without being told its name.
2. ``custom_imports``: the plugin's config imports it (plugin source on
   ``PYTHONPATH``, nothing installed), for building and for training.

Each route runs in a fresh interpreter so no earlier import can help it.
"""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
from mmengine.runner import CheckpointLoader

from facessl.utils import load_plugins

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PLUGIN_DIR = osp.join(REPO_ROOT, 'plugins', 'facessl-example-plugin')
PLUGIN_CONFIG = osp.join(PLUGIN_DIR, 'configs',
                         'example_cosine-cls_synthetic-faces.py')
RESULT = 'RESULT:'

ENTRY_POINT_SCRIPT = '''
import json, sys
from facessl.registry import MODELS, TRANSFORMS
from facessl.utils import load_plugins, register_all_modules
assert 'facessl_example_plugin' not in sys.modules
assert 'RandomFaceCutout' not in TRANSFORMS.module_dict
register_all_modules()
head = MODELS.build(
    dict(type='NormLinearClsHead', num_classes=3, in_channels=4))
print('RESULT:' + json.dumps(dict(
    loaded=load_plugins(),
    file=sys.modules['facessl_example_plugin'].__file__,
    transform=TRANSFORMS.get('RandomFaceCutout').__module__,
    head=type(head).__module__)))
'''

CUSTOM_IMPORTS_SCRIPT = '''
import json, sys
from mmengine.config import Config
from mmengine.registry import DefaultScope
from facessl.registry import MODELS, TRANSFORMS
assert 'facessl_example_plugin' not in sys.modules
cfg = Config.fromfile(sys.argv[1])
plugin = sys.modules['facessl_example_plugin']  # imported by fromfile
with DefaultScope.overwrite_default_scope(cfg.default_scope):
    transform = TRANSFORMS.build(cfg.train_pipeline[0])
    model = MODELS.build(cfg.model)
print('RESULT:' + json.dumps(dict(
    file=plugin.__file__,
    transform=type(transform).__name__,
    head=type(model.head).__name__,
    model=type(model).__name__)))
'''


def _env(*paths):
    """Environment for a child interpreter with ``paths`` first on path."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        [*paths, REPO_ROOT] +
        ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    return env


def _run(args, env, cwd=None, timeout=600):
    proc = subprocess.run([sys.executable, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f'{args[0]} exited {proc.returncode}\n--- stdout ---\n'
        f'{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-6000:]}')
    return proc.stdout


def _result(stdout):
    lines = [ln for ln in stdout.splitlines() if ln.startswith(RESULT)]
    assert lines, f'no {RESULT} line in:\n{stdout[-3000:]}'
    return json.loads(lines[-1][len(RESULT):])


def _fake_plugin(root, dist, entry_point, module, source):
    """A distribution installed by hand: dist-info and one module."""
    dist_info = root / f'{dist}-0.1.dist-info'
    dist_info.mkdir()
    (dist_info / 'METADATA').write_text(
        f'Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n')
    (dist_info / 'entry_points.txt').write_text(
        f'[facessl.plugins]\n{entry_point} = {module}\n')
    (root / f'{module}.py').write_text(source)


@pytest.fixture(scope='session')
def installed_plugin(tmp_path_factory):
    """The example plugin pip-installed into a temporary site directory.

    pip builds in the source tree, so it builds a copy, not the repo.
    """
    root = tmp_path_factory.mktemp('example_plugin')
    source, site = root / 'source', root / 'site'
    shutil.copytree(
        PLUGIN_DIR, source,
        ignore=shutil.ignore_patterns('build', '*.egg-info', '__pycache__',
                                      'tests', 'configs'))
    _run(['-m', 'pip', 'install', '--no-deps', '--no-build-isolation',
          '--no-index', '--disable-pip-version-check', '--quiet',
          '--target', str(site), str(source)], env=dict(os.environ))
    return str(site)


def test_entry_point_route(installed_plugin):
    result = _result(
        _run(['-c', ENTRY_POINT_SCRIPT], _env(installed_plugin)))
    assert 'facessl_example_plugin' in result['loaded'].values()
    assert result['file'].startswith(installed_plugin)
    assert result['transform'] == 'facessl_example_plugin.transforms'
    assert result['head'] == 'facessl_example_plugin.heads'


def test_broken_plugin_names_entry_point_and_distribution(
        tmp_path, monkeypatch):
    _fake_plugin(tmp_path, 'fake-plugin', 'broken_example',
                 'fake_plugin_module',
                 'import no_such_dependency_of_fake_plugin\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError) as info:
        load_plugins()
    message = str(info.value)
    assert "'broken_example'" in message
    assert 'fake-plugin' in message
    assert 'no_such_dependency_of_fake_plugin' in message
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_two_plugins_with_the_same_entry_point_name_both_load(
        tmp_path, monkeypatch):
    for dist in ('dup-one', 'dup-two'):
        module = dist.replace('-', '_') + '_module'
        _fake_plugin(tmp_path, dist, 'dup_example', module,
                     'PLUGIN = True\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    load_plugins()
    imported = [m for m in ('dup_one_module', 'dup_two_module')
                if m in sys.modules]
    for module in imported:
        monkeypatch.delitem(sys.modules, module)
    assert len(imported) == 2, f'only {imported} imported'


def test_custom_imports_route_builds_plugin_components():
    result = _result(
        _run(['-c', CUSTOM_IMPORTS_SCRIPT, PLUGIN_CONFIG], _env(PLUGIN_DIR)))
    assert result['file'].startswith(PLUGIN_DIR)
    assert result == dict(
        result, transform='RandomFaceCutout', head='NormLinearClsHead',
        model='ImageClassifier')


def test_plugin_config_trains_through_tools_train(tmp_path):
    train = osp.join(REPO_ROOT, 'tools', 'train.py')
    if not osp.isfile(train):
        pytest.skip('tools/train.py does not exist yet')
    work_dir = tmp_path / 'work_dir'
    _run([train, PLUGIN_CONFIG, '--work-dir', str(work_dir),
          '--cfg-options', 'train_dataloader.dataset.images_per_identity=2',
          'train_dataloader.batch_size=4'],
         _env(PLUGIN_DIR), cwd=str(tmp_path))
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()
    assert (work_dir / 'last_checkpoint').read_text().strip() == str(
        checkpoint)
    state = CheckpointLoader.load_checkpoint(
        str(checkpoint), map_location='cpu')['state_dict']
    assert state['head.fc.weight'].shape == (4, 128)  # NormLinearClsHead
