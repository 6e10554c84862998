"""The guided lesson, pure: the steps as data, seeded exercises and their checkers, the worksheet PDF.

No streamlit here (the page glue is resnext_viz/ui/lesson.py) and no torch at import: the
one exercise that measures (will G = 32 be faster than G = 1?) loads the lab's sweep when
it is answered.
"""
