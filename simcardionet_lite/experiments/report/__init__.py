"""The report side of the experiments: banners, tables, readings, figures and paper-vs-ours.

Why apart from the loops: a chapter shows both its own (smoke) run and the committed results
files of larger runs, which it reads back from JSON; every function here takes result dicts
(fresh or committed, old or new format) and never trains anything.
"""
