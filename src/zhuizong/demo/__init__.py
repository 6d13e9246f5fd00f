"""The demo agency (演示机构): a realistic, deterministic data set for every import kind.

``generate`` builds the frames (pure, vectorised); ``build_demo`` stores them in a workspace
through the import pipeline and creates one demo user per role. See ``docs/demo.md``.
"""

from zhuizong.demo.generator import DemoData, generate
from zhuizong.demo.params import DemoParams, default_end_date

__all__ = ["DemoData", "DemoParams", "default_end_date", "generate"]
