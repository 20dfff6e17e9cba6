"""setup.py's extras match the pinned requirement files."""
import os.path as osp
import runpy

import setuptools

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def requirements(path):
    """The requirement lines of a pip requirements file."""
    with open(osp.join(REPO, path)) as f:
        lines = [line.split('#')[0].strip() for line in f]
    return [line for line in lines if line]


def test_tests_extra_lists_requirements_tests(monkeypatch):
    seen = {}
    monkeypatch.setattr(setuptools, 'setup', lambda **kw: seen.update(kw))
    monkeypatch.chdir(REPO)
    runpy.run_path(osp.join(REPO, 'setup.py'), run_name='__main__')
    extra = seen['extras_require']['tests']
    assert sorted(extra) == sorted(requirements('requirements/tests.txt'))
