"""facessl: plugin-based self-supervised learning for face representations."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version():
    """Read ``__version__`` from facessl/version.py without importing."""
    scope = {}
    with open(osp.join(HERE, 'facessl', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_readme():
    """The README as the long description."""
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


setup(
    name='facessl',
    version=read_version(),
    description='Self-supervised face representation learning on MMEngine '
    'and mmpretrain: LAFS, ProS, FRA, 3D-BERL',
    long_description=read_readme(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(include=['facessl', 'facessl.*']),
    include_package_data=True,
    package_data={'facessl': ['py.typed']},
    install_requires=[
        'torch>=2.1',
        'torchvision>=0.16',
        'mmengine>=0.10.4,<0.11',
        # mmcv-lite or the full mmcv (same import name `mmcv`); facessl
        # needs no compiled op.
        'mmcv-lite>=2.0.0',
        'mmpretrain>=1.2.0,<1.3',
        'opencv-python>=4.8,<5',
        'numpy>=1.26',
        'pycocotools>=2.0.7',
        'scikit-image>=0.22',
        'scipy>=1.10',  # also a scikit-image dependency; IJB pooling
        'tensorboard>=2.14',
        'tqdm>=4.66',
    ],
    # the pins of requirements/tests.txt (tests/test_setup.py checks)
    extras_require={
        'tests': [
            'pytest>=8',
            'onnx==1.23.2',
            'onnxruntime==1.31.1',
            'insightface==2.1',
        ]
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
