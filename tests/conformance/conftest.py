import os
import sys

# generate.py sits beside the tests and is imported as a module.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
