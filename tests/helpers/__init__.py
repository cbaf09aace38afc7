"""Test helpers shared by every test folder: the tiny Market writer, the tiny training config, checkpoints.

Importable as `helpers.<module>` because pytest puts tests/ on sys.path (tests/conftest.py, no __init__).
"""
