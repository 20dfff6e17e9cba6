"""Shared pytest fixtures for the facessl test suite."""
import os
import os.path as osp

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session', autouse=True)
def _registered():
    """Register mmpretrain's and facessl's modules once per session."""
    from facessl.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    yield


@pytest.fixture
def repo_root():
    """Absolute path of the repository root."""
    return REPO_ROOT


@pytest.fixture
def subprocess_env():
    """Environment for tool subprocesses: single-threaded, repo on path."""
    env = dict(os.environ)
    env.setdefault('OMP_NUM_THREADS', '1')
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    return env
