"""configs/<method>/eval/*: each builds and scores a checkpoint with
tools/test.py on a tiny synthetic .bin or IJB set."""
import glob
import math
import os.path as osp
import runpy
import sys

import pytest
import torch
from mmengine.config import Config

from facessl.apis import get_model
from facessl.datasets.synthetic.export_bin import \
    write_synthetic_verification_bin
from facessl.datasets.synthetic.export_ijb import write_synthetic_ijb
from tests.conftest import REPO_ROOT

EVAL_CONFIGS = sorted(
    osp.relpath(p, REPO_ROOT)
    for p in glob.glob(osp.join(REPO_ROOT, 'configs/*/eval/*.py')))
TOOL = osp.join(REPO_ROOT, 'tools/test.py')


def test_every_method_has_both_eval_configs():
    names = [osp.basename(p) for p in EVAL_CONFIGS]
    for method in ('dino', 'lafs', 'pros', 'fra', 'berl'):
        found = [n for n in names if n.startswith(method + '_')]
        assert sorted(n.rsplit('_', 1)[1] for n in found) == [
            'ijbc.py', 'lfw-cfpfp-agedb.py'], method


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """A 4-pair .bin (2 folds) and a 4-image IJB-C set."""
    root = tmp_path_factory.mktemp('eval')
    write_synthetic_verification_bin(
        str(root / 'pairs.bin'), num_pairs=4, img_size=32, num_identities=3,
        images_per_identity=2, num_folds=2)
    write_synthetic_ijb(str(root / 'IJBC'), num_identities=2,
                        images_per_identity=2, img_size=32, one_to_n=False)
    return root


def small_options(cfg: Config) -> dict:
    """Overrides that shrink the big heads (not the backbones)."""
    opts = {'test_dataloader.num_workers': 0}
    if cfg.model.type in ('DINO', 'LAFS'):
        opts.update({'model.head.out_dim': 16, 'model.loss.out_dim': 16})
    if cfg.model.type == 'BERL':
        opts.update({'model.head.num_classes': 4,
                     'model.data_preprocessor.num_classes': 4,
                     'model.backbone.arch': 'r18'})
    return opts


@pytest.mark.parametrize('config', EVAL_CONFIGS)
def test_eval_config_runs(config, data, tmp_path, monkeypatch):
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    ijb = config.endswith('_ijbc.py')
    opts = small_options(cfg)
    if ijb:
        root = str(data / 'IJBC')
        opts.update({'test_dataloader.dataset.data_root': root,
                     'test_evaluator.data_root': root})
    else:
        opts.update({'test_dataloader.dataset.data_root': str(data),
                     'test_dataloader.dataset.bin_files': ['pairs.bin'],
                     'test_evaluator.num_folds': 2})
    cfg.merge_from_dict(opts)
    torch.manual_seed(0)
    model = get_model(cfg, device='cpu')
    ckpt = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    argv = [TOOL, config, ckpt, '--work-dir', str(tmp_path / 'work'),
            '--cfg-options'] + [f'{k}={v}' for k, v in opts.items()]
    monkeypatch.setattr(sys, 'argv', argv)
    monkeypatch.chdir(REPO_ROOT)
    metrics = runpy.run_path(TOOL, run_name='facessl_tool')['main']()
    keys = (['ijbc/tar@far=1e-4'] if ijb else
            ['pairs/accuracy', 'pairs/tar@far=1e-3'])
    for key in keys:
        assert key in metrics, sorted(metrics)
        assert math.isfinite(metrics[key]) and 0 <= metrics[key] <= 100


#: eval config -> (training config it tests, options its header names)
TRAINED = {
    'dino_vit-t-p8': ('dino/dino_vit-t-p8_4xb64-coslr-100e_ms1m.py', {}),
    'lafs_part-fvit-t': (
        'lafs/lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces.py',
        {'model.head.out_dim': 1024, 'model.head.use_bn': True,
         'model.loss.out_dim': 1024}),
    'pros_vit-s-p16': (
        'pros/pros_vit-s-p16_8xb32-coslr-20e_synthetic-faces.py', {}),
    'fra_resnet50': ('fra/fra_resnet50_8xb128-coslr-400e_vggface2.py', {}),
    'berl_iresnet100': (
        'berl/berl-stage3_iresnet100_curricularface-recon_4xb50-sgd-adam-'
        '16e_ms1m.py', {}),
}
#: model keys that only matter for training (initial weights, stage, loss
#: weights)
TRAINING_ONLY = {'landmark_cnn_checkpoint', 'pretrained', 'init_cfg', 'stage',
                 'gamma_fr', 'gamma_recon', 'pairing',
                 # ProS's crop scorer: its weights are not in checkpoints
                 'crop_filter'}


@pytest.mark.parametrize('config', EVAL_CONFIGS)
def test_eval_model_is_the_trained_model(config):
    """Same modules and sizes as the training config, so its checkpoints
    load strictly."""
    trained, opts = TRAINED[osp.basename(config).rsplit('_', 1)[0]]
    eval_cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    eval_cfg.merge_from_dict(opts)
    train_cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', trained))

    def model_of(cfg):
        model = dict(cfg.model)
        model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
        prep = model['data_preprocessor']
        if prep and prep['type'] == 'MultiViewPhotometricPreprocessor':
            # training-only augmentation; evaluation batches get
            # SelfSupDataPreprocessor's conversion and normalisation
            prep = {k: v for k, v in prep.items() if k not in (
                'view_groups', 'seed', 'append_unaugmented')}
            model['data_preprocessor'] = dict(
                prep, type='SelfSupDataPreprocessor')
        return {k: v for k, v in model.items() if k not in TRAINING_ONLY}

    assert model_of(eval_cfg) == model_of(train_cfg)
