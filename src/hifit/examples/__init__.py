"""Example inputs shipped with hifit (written for hifit, not taken from elsewhere)."""

from pathlib import Path

DEMO_WORKSPACE = Path(__file__).with_name("demo_workspace.json")

__all__ = ["DEMO_WORKSPACE"]
