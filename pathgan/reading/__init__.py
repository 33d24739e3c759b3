"""Blinded real-vs-synthetic reading studies (a visual Turing test): trial design, storage, statistics, export.

The app's Reading test tab (pathgan/app/reading_tab.py) and `python -m pathgan reading-test export` both
use these modules, so the numbers a study owner sees and exports are the same.
"""
