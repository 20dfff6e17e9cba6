"""FaceImageFolder list labels: any names, contiguous indices, checkpoints."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from facessl.datasets.synthetic.export import write_synthetic_faces
from facessl.registry import DATASETS
from facessl.utils.checkpoint import load_local_checkpoint

IMAGES = ['000000/0000.png', '000000/0001.png', '000001/0000.png',
          '000001/0001.png', '000002/0000.png', '000002/0001.png']


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp('faces')
    write_synthetic_faces(str(root), 3, 2, img_size=24, seed=0)
    return root


def listed(root, labels, name='list.txt', **cfg):
    path = root / name
    path.write_text(''.join(f'{img} {lb}\n'
                            for img, lb in zip(IMAGES, labels)))
    return DATASETS.build(
        dict(type='FaceImageFolder', data_root=str(root), ann_file=str(path),
             **cfg))


@pytest.mark.parametrize('labels, classes, gt', [
    # interleaved strings: sorted names, contiguous indices
    (['bob', 'bob', 'al', 'al', 'cy', 'cy'], ('al', 'bob', 'cy'),
     [1, 1, 0, 0, 2, 2]),
    # non-contiguous integers: numeric order, original spelling kept
    (['42', '42', '017', '017', '3', '3'], ('3', '017', '42'),
     [2, 2, 1, 1, 0, 0]),
    # 0..N-1 integers keep their values and the folder names (as before)
    (['2', '2', '0', '0', '1', '1'], ('000001', '000002', '000000'),
     [2, 2, 0, 0, 1, 1]),
    # '1_0' is a name, not the integer 10
    (['1_0', '1_0', '7', '7', '7', '7'], ('1_0', '7'), [0, 0, 1, 1, 1, 1]),
])
def test_labels_map_to_contiguous_indices(root, labels, classes, gt):
    ds = listed(root, labels)
    assert ds.metainfo['classes'] == classes
    assert ds.get_gt_labels().tolist() == gt


def test_given_classes_map_names_or_index(root):
    labels = ['42', '42', '17', '17', '3', '3']
    ds = listed(root, labels, classes=['3', '17', '42', '99'])
    assert ds.get_gt_labels().tolist() == [2, 2, 1, 1, 0, 0]
    ds = listed(root, ['1', '1', '0', '0', '1', '1'], classes=['x', 'y'])
    assert ds.get_gt_labels().tolist() == [1, 1, 0, 0, 1, 1]
    with pytest.raises(ValueError, match=r"list.txt: line 3: label '4' is "
                       'not a class name, but other lines use class names'):
        listed(root, ['a', 'a', '4', '4', 'b', 'b'], classes=['a', 'b'])
    with pytest.raises(ValueError, match=r"list.txt: line 5: label 'c' is "
                       'not an integer index and not one of the 2 classes'):
        listed(root, ['a', 'a', 'b', 'b', 'c', 'c'], classes=['a', 'b'])


class MeanColourClassifier(BaseModel):
    """Linear classifier on the mean colour: just enough to train."""

    def __init__(self, num_classes):
        super().__init__()
        self.fc = nn.Linear(3, num_classes)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack([img.float().mean((1, 2)) / 255 for img in inputs])
        logits = self.fc(x)
        if mode == 'loss':
            labels = torch.cat([s.gt_label for s in data_samples])
            return dict(loss=F.cross_entropy(logits, labels))
        return logits


def test_checkpoint_keeps_the_class_mapping(root, tmp_path):
    (root / 'ids.txt').write_text(''.join(
        f'{img} {lb}\n' for img, lb in zip(IMAGES, [
            'n042', 'n042', 'n007', 'n007', 'n100', 'n100'])))
    runner = Runner(
        model=MeanColourClassifier(3),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=dict(
                type='FaceImageFolder', data_root=str(root),
                ann_file='ids.txt', pipeline=[dict(type='PackInputs')]),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=3,
            num_workers=0),
        train_cfg=dict(by_epoch=False, max_iters=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1,
                            by_epoch=False)),
        default_scope='facessl',
        experiment_name='checkpoint_keeps_the_class_mapping')
    runner.train()
    ckpt = load_local_checkpoint(str(tmp_path / 'iter_1.pth'))
    meta = ckpt['meta']['dataset_meta']
    assert meta['classes'] == ('n007', 'n042', 'n100')
    # the saved names map a new list the same way
    ds = listed(root, ['n100', 'n100', 'n042', 'n042', 'n007', 'n007'],
                name='val.txt', classes=meta['classes'])
    assert ds.get_gt_labels().tolist() == [2, 2, 1, 1, 0, 0]
