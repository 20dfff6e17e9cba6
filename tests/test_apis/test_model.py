"""facessl.apis.list_models / get_model."""
import glob
import os.path as osp

import pytest
import torch

from facessl.apis import get_model, list_models
from facessl.apis.model import CONFIG_ROOT
from tests.conftest import REPO_ROOT

TINY = osp.join(REPO_ROOT, 'tests/data/configs/tiny-dino_synthetic-faces.py')


def test_list_models():
    files = [
        p for p in glob.glob(osp.join(REPO_ROOT, 'configs/**/*.py'),
                             recursive=True) if '_base_' not in p
    ]
    names = list_models()
    assert CONFIG_ROOT == osp.join(REPO_ROOT, 'configs')
    assert names == sorted(osp.basename(p)[:-3] for p in files)
    assert 'dino_vit-t-p8_1xb32-coslr-8e_synthetic-faces' in names
    lafs = list_models('lafs_*')
    assert lafs and all(n.startswith('lafs_') for n in lafs)
    assert set(lafs) < set(names)
    assert list_models('no-such-*') == []


def test_get_model_by_name_and_path():
    model = get_model('fra_resnet18-w32_1xb32-coslr-5e_synthetic-faces',
                      device='cpu')
    assert type(model).__name__ == 'FRA' and not model.training
    assert next(model.parameters()).device.type == 'cpu'
    assert model.cfg.model.type == 'FRA'
    tiny = get_model(TINY)  # the top-level data_preprocessor is used
    assert type(tiny.data_preprocessor).__name__ == \
        'SelfSupDataPreprocessor'
    assert tiny.data_preprocessor.mean.flatten().tolist() == [127.5] * 3
    with pytest.raises(ValueError, match=r"did you mean \['fra_resnet18"):
        get_model('fra_resnet18-w32_1xb32-coslr-5e_synthetic-face')


def test_pretrained_loads_strictly(tmp_path):
    torch.manual_seed(0)
    model = get_model(TINY, device='cpu')
    state = {k: torch.randn_like(v) if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    ckpt = str(tmp_path / 'epoch_1.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict=state), ckpt)
    loaded = get_model(TINY, pretrained=ckpt, device='cpu')
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, state[key]), key
    # a backbone-only file fills the backbone and the teacher's backbone
    backbone = {k[len('backbone.'):]: v for k, v in state.items()
                if k.startswith('backbone.')}
    only = str(tmp_path / 'backbone.pth')
    torch.save(backbone, only)
    loaded = get_model(TINY, pretrained=only, device='cpu')
    for net in (loaded.backbone, loaded.teacher['backbone']):
        for key, value in net.state_dict().items():
            assert torch.equal(value, backbone[key]), key
    # a checkpoint of another model is refused, naming file and keys
    del state['backbone.cls_token']
    state['backbone.extra'] = torch.zeros(1)
    torch.save(dict(state_dict=state), ckpt)
    with pytest.raises(KeyError, match=r"epoch_1.pth \(the DINO model\) "
                       r"does not match DINO: missing "
                       r"\['backbone.cls_token'\] \(1\), unexpected "
                       r"\['backbone.extra'\] \(1\)"):
        get_model(TINY, pretrained=ckpt)
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        get_model(TINY, pretrained=str(tmp_path / 'nope.pth'))
