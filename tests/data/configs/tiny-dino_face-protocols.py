# The tiny DINO scored with the face protocols on synthetic sets: tools/test
# runs the verification .bin (test_*); the IJB-style set is the second
# evaluation (ijb_*). data roots are set by the test (--cfg-options).
_base_ = [
    './tiny-dino_synthetic-faces.py',
    '../../../configs/_base_/datasets/synthetic_faces_eval.py',
]


def _at(loader, size):
    pipeline = [
        dict(t, scale=size) if t['type'] == 'Resize' else t
        for t in loader['dataset']['pipeline']
    ]
    return dict(loader, dataset=dict(loader['dataset'], pipeline=pipeline))


synthetic_verification_dataloader = _at(
    _base_.synthetic_verification_dataloader, 16)
synthetic_ijb_dataloader = _at(_base_.synthetic_ijb_dataloader, 16)
test_dataloader = synthetic_verification_dataloader
test_evaluator = _base_.synthetic_verification_evaluator
test_cfg = dict()
