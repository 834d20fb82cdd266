"""Printouts: WeasyPrint rendering (render.py), the data each printout shows (content.py) and
background print jobs (jobs.py). Templates live in templates/print/."""
