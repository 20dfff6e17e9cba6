"""The linear-probe config and README name the checkpoint `make demo`
writes."""
import os.path as osp
import re
import runpy
import sys

from mmengine.config import Config

from tests.conftest import REPO_ROOT

PROBE = ('configs/linear_probe/'
         'linear-probe_resnet18-w32_1xb64-10e_synthetic-faces.py')


def demo_checkpoint(monkeypatch) -> str:
    """work dir of `make demo` + the last checkpoint of the demo config."""
    with open(osp.join(REPO_ROOT, 'Makefile')) as f:
        make = f.read()
    demo_dir = re.search(r'^DEMO_DIR \?= (\S+)$', make, re.M).group(1)
    assert '$(PY) tools/demo.py --work-dir $(DEMO_DIR)' in make
    demo = runpy.run_path(osp.join(REPO_ROOT, 'tools/demo.py'),
                          run_name='facessl_tool')
    monkeypatch.setattr(sys, 'argv', ['demo.py'])
    assert demo['parse_args']().work_dir == demo_dir
    cfg = Config.fromfile(demo['default_config']())
    epochs = cfg.train_cfg.max_epochs
    assert epochs % cfg.default_hooks.checkpoint.interval == 0
    return f'{demo_dir}/epoch_{epochs}.pth'


def test_probe_config_and_readme_use_the_demo_checkpoint(monkeypatch):
    ckpt = demo_checkpoint(monkeypatch)
    assert ckpt == 'work_dirs/demo/epoch_40.pth'
    cfg = Config.fromfile(osp.join(REPO_ROOT, PROBE))
    assert cfg.model.backbone.init_cfg.checkpoint == ckpt
    with open(osp.join(REPO_ROOT, 'configs/linear_probe/README.md')) as f:
        readme = f.read()
    assert ckpt in readme
    named = set(re.findall(r'work_dirs/demo/epoch_\d+\.pth', readme))
    assert named == {ckpt}
